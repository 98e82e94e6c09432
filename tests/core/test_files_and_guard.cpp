// Files that are never torn (io/files.hpp) under a real file-size limit, and
// the loop's skipping of non-finite windows (core/nonfinite_guard.hpp).
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include <sys/resource.h>

#include <mixtrain/core/nonfinite_guard.hpp>
#include <mixtrain/io/files.hpp>

#include "../support/temporary_directory.hpp"

namespace mt = mixtrain;
using mixtrain::testing::temporary_directory;

namespace test_files_and_guard {
namespace {

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// RLIMIT_FSIZE for this process while alive, with SIGXFSZ ignored so a write
// past the limit fails with EFBIG (as on a full disk) instead of killing us.
class file_size_limit {
 public:
  explicit file_size_limit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &previous_);
    previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit = previous_;
    limit.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~file_size_limit() {
    setrlimit(RLIMIT_FSIZE, &previous_);
    std::signal(SIGXFSZ, previous_handler_);
  }

 private:
  rlimit previous_{};
  void (*previous_handler_)(int) = SIG_DFL;
};

}  // namespace

TEST_CASE("append_whole past a file-size limit leaves the file as it was and names it") {
  temporary_directory dir;
  const auto file = dir.path() / "metrics.csv";
  mt::io::append_whole(file, "epoch,loss\n1,0.5\n");
  const auto before = read_all(file);
  {
    file_size_limit limit(before.size() + 10);  // room for 10 of the row's 30 bytes
    REQUIRE_THROWS_WITH(mt::io::append_whole(file, "2,0.25,with,a,long,tail,12345\n"),
                        Catch::Contains(file.string()) && Catch::Contains("File too large") &&
                            Catch::Contains("left as it was"));
  }
  CHECK(read_all(file) == before);
  mt::io::append_whole(file, "2,0.25\n");
  CHECK(read_all(file) == before + "2,0.25\n");
}

TEST_CASE("write_text_atomically past a file-size limit keeps the previous file and leaves no partial file") {
  temporary_directory dir;
  const auto file = dir.path() / "config.json";
  mt::io::write_text_atomically(file, "{\"old\": true}\n");
  {
    file_size_limit limit(100);
    REQUIRE_THROWS_WITH(mt::io::write_text_atomically(file, std::string(1000, 'x')),
                        Catch::Contains("cannot write " + file.string()) && Catch::Contains("File too large") &&
                            Catch::Contains("the previous config.json is kept"));
  }
  CHECK(read_all(file) == "{\"old\": true}\n");
  CHECK_FALSE(std::filesystem::exists(file.string() + ".partial"));
}

TEST_CASE("require_writable_folder refuses a path under a file and a folder past a size limit") {
  temporary_directory dir;
  std::ofstream(dir.path() / "a_file") << "x";
  REQUIRE_THROWS_WITH(mt::io::require_writable_folder(dir.path() / "a_file" / "run", 0),
                      Catch::Contains("--output_dir " + (dir.path() / "a_file" / "run").string()) &&
                          Catch::Contains("Not a directory"));
  {
    file_size_limit limit(4096);  // below the 1 MiB probe
    REQUIRE_THROWS_WITH(mt::io::require_writable_folder(dir.path() / "run", 0),
                        Catch::Contains("cannot write there") && Catch::Contains("File too large"));
  }
  CHECK_FALSE(std::filesystem::exists(dir.path() / "run" / ".mixtrain_write_probe"));
  const auto space = std::filesystem::space(dir.path());
  REQUIRE_THROWS_WITH(mt::io::require_writable_folder(dir.path() / "run", space.available + (std::uintmax_t{1} << 40)),
                      Catch::Contains("MiB free, but this run needs about"));
  mt::io::require_writable_folder(dir.path() / "run", 1);
}

TEST_CASE("nonfinite guard: a window with one NaN loss is bad, its buffers are restored, the limit counts in a row") {
  auto running_mean = torch::tensor({1.0f, 2.0f});
  mt::nonfinite_guard guard(2);
  guard.protect({running_mean});
  const float nan = std::numeric_limits<float>::quiet_NaN();

  guard.window_begins();
  guard.add(torch::tensor(0.5f));
  running_mean.add_(1.0f);  // a good window's forward pass moves the statistics
  CHECK(guard.window_is_finite());
  CHECK(running_mean[0].item<float>() == 2.0f);

  guard.window_begins();
  guard.add(torch::tensor(0.5f));
  guard.add(torch::tensor(nan));
  running_mean.fill_(nan);  // a NaN forward pass poisons them
  CHECK_FALSE(guard.window_is_finite());
  CHECK(running_mean[0].item<float>() == 2.0f);
  CHECK(running_mean[1].item<float>() == 3.0f);
  CHECK(guard.consecutive() == 1);
  CHECK_FALSE(guard.exhausted());

  guard.window_begins();
  guard.add(torch::tensor(std::numeric_limits<float>::infinity()));
  CHECK_FALSE(guard.window_is_finite());
  CHECK(guard.exhausted());

  guard.window_begins();
  guard.add(torch::tensor(0.1f));
  CHECK(guard.window_is_finite());
  CHECK(guard.consecutive() == 0);
  CHECK_FALSE(guard.exhausted());

  mt::nonfinite_guard never(0);
  for (int i = 0; i < 5; ++i) {
    never.add(torch::tensor(nan));
    CHECK_FALSE(never.window_is_finite());
  }
  CHECK_FALSE(never.exhausted());
}

}  // namespace test_files_and_guard
