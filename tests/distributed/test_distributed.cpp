// Data parallelism with real processes over Gloo on the loopback. The
// reference is always an independent single process without the policy:
// R ranks x batch B must reach its weights at batch R*B (docs/distributed.md).
#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <torch/torch.h>
#include <unistd.h>

#include <mixtrain/core/distributed_launch.hpp>
#include <mixtrain/data/synthetic_aariz.hpp>

#include "processes.hpp"

namespace dt = distributed_test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace test_distributed {
namespace {

// 14 training images: with 2 ranks of 2, the last batch of each epoch is short.
// 5 validation images: 2 ranks score 3 each, one image on both (shard padding).
struct dataset {
  fs::path root = fs::temp_directory_path() / ("mixtrain_distributed_" + std::to_string(::getpid()));
  dataset() {
    fs::remove_all(root);
    mixtrain::data::write_synthetic_aariz(
        root / "data", {.train_images = 14, .valid_images = 5, .test_images = 0, .min_side = 96, .max_side = 160, .seed = 5});
  }
  ~dataset() {
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
  [[nodiscard]] fs::path data() const { return root / "data"; }
};

std::vector<torch::Tensor> load_weights(const fs::path& file) {
  std::vector<torch::Tensor> w;
  torch::load(w, file.string());
  return w;
}

std::vector<std::vector<std::string>> csv_rows(const fs::path& file) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(dt::read_text(file));
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::istringstream cells_in(line);
    for (std::string cell; std::getline(cells_in, cell, ',');) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

double max_difference(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, (a[i] - b[i]).abs().max().item<double>());
  return m;
}

void require_success(const dt::process& p, std::chrono::seconds limit) {
  const auto status = dt::wait_for(p, limit);
  if (!status) dt::kill_and_reap(p);
  INFO(dt::read_text(p.output));
  REQUIRE(status.has_value());
  REQUIRE(*status == 0);
}

// Optimizer steps of the comparison runs: 2 epochs of 14 images at global batch 4.
int steps_expected(int accumulate) { return 2 * ((4 + accumulate - 1) / accumulate); }

std::vector<std::string> with(std::vector<std::string> arguments, const std::vector<std::string>& more) {
  arguments.insert(arguments.end(), more.begin(), more.end());
  return arguments;
}

// The single-process reference at batch 4 into <root>/<name>.
void run_reference(const dataset& d, const std::string& name, const std::vector<std::string>& arguments) {
  const auto ref = dt::start(with({"reference", d.data().string(), (d.root / name).string(), "batch=4"}, arguments),
                             {"OMP_NUM_THREADS=1"}, d.root / (name + ".log"));
  require_success(ref, 120s);
}

// Two ranks of batch 2 (a shared output folder <root>/<name>), their output
// in <root>/rank0.log and rank1.log.
void run_two_ranks(const dataset& d, const std::string& name, const std::vector<std::string>& arguments) {
  const int port = mixtrain::distributed::free_loopback_port();
  std::vector<dt::process> ranks;
  for (int r = 0; r < 2; ++r)
    ranks.push_back(dt::start(with({"rank", d.data().string(), (d.root / name).string(), "batch=2"}, arguments),
                              dt::rank_env(r, 2, port), d.root / ("rank" + std::to_string(r) + ".log")));
  for (const auto& r : ranks) require_success(r, 120s);
}

// Two ranks (shared output folder) against the reference at twice the batch;
// the weights compared include BatchNorm's running statistics, if any.
// `rank_log_line`: a line rank 0 must print.
void compare_with_reference(int accumulate, const std::vector<std::string>& reference_arguments = {},
                            const std::vector<std::string>& rank_arguments = {}, const std::string& rank_log_line = "") {
  const dataset d;
  const auto acc = "accumulate=" + std::to_string(accumulate);
  run_reference(d, "ref", with({acc}, reference_arguments));
  run_reference(d, "init", with({acc, "epochs=0"}, reference_arguments));
  run_two_ranks(d, "ddp", with({acc}, rank_arguments));
  CHECK(dt::read_text(d.root / "rank0.log").find(rank_log_line) != std::string::npos);
  const auto reference = load_weights(d.root / "ref" / "weights.pt");
  const auto trained = load_weights(d.root / "ddp" / "weights.pt");
  const auto moved = max_difference(reference, load_weights(d.root / "init" / "weights.pt"));
  INFO("training moved the weights by up to " << moved);
  REQUIRE(moved > 1e-3);  // so that agreeing to 1e-5 means something
  CHECK(max_difference(reference, trained) < 1e-5);
  // The same number of optimizer steps, and only rank 0 wrote files.
  const auto steps = [](const std::string& log) { return log.substr(log.rfind(" step ")); };  // the worker line, last
  CHECK(steps(dt::read_text(d.root / "rank0.log")) == steps(dt::read_text(d.root / "ref.log")));
  CHECK(dt::read_text(d.root / "rank1.log").find("worker rank 1 of 2") != std::string::npos);
  // Every bucket was summed from the autograd hooks, during backward.
  const auto rank0 = dt::read_text(d.root / "rank0.log");
  const auto buckets = rank0.find(" buckets started during backward");
  REQUIRE(buckets != std::string::npos);
  const auto counts = rank0.substr(rank0.rfind(';', buckets) + 2, buckets - rank0.rfind(';', buckets) - 2);  // "N of M"
  CHECK(counts.substr(0, counts.find(' ')) == counts.substr(counts.rfind(' ') + 1));
  CHECK(std::stoi(counts.substr(0, counts.find(' '))) > steps_expected(accumulate));
  CHECK(fs::exists(d.root / "ddp" / "last.pt"));
  // Validation is sharded: each rank scored 3 of the 5 images, and the sums
  // added over the ranks give the reference's metrics, which count each image
  // once (the padded image is scored once, on its two identical views).
  CHECK(dt::read_text(d.root / "ref.log").find("validated 5 images here") != std::string::npos);
  for (int r = 0; r < 2; ++r)
    CHECK(dt::read_text(d.root / ("rank" + std::to_string(r) + ".log")).find("validated 3 images here") != std::string::npos);
  const auto ref_rows = csv_rows(d.root / "ref" / "metrics.csv");
  const auto ddp_rows = csv_rows(d.root / "ddp" / "metrics.csv");
  REQUIRE(ref_rows.size() == ddp_rows.size());
  REQUIRE(ref_rows.size() >= 2);
  int compared = 0;
  for (std::size_t column = 0; column < ref_rows[0].size(); ++column)
    if (ref_rows[0][column].rfind("val_", 0) == 0)
      for (std::size_t row = 1; row < ref_rows.size(); ++row, ++compared)
        CHECK(std::stod(ddp_rows[row][column]) == Approx(std::stod(ref_rows[row][column])).epsilon(1e-4).margin(1e-5));
  CHECK(compared > 0);
}

// Two ranks training for long; returns them once rank 0 has finished an epoch.
std::vector<dt::process> start_long_run(const dataset& d, int timeout_s) {
  const int port = mixtrain::distributed::free_loopback_port();
  std::vector<dt::process> ranks;
  for (int r = 0; r < 2; ++r)
    ranks.push_back(dt::start({"rank", d.data().string(), (d.root / "ddp").string(), "batch=2", "epochs=1000",
                               "timeout=" + std::to_string(timeout_s)},
                              dt::rank_env(r, 2, port), d.root / ("rank" + std::to_string(r) + ".log")));
  if (!dt::wait_for_file(d.root / "ddp" / "last.pt", 120s)) {
    for (const auto& r : ranks) dt::kill_and_reap(r);
    FAIL("rank 0 wrote no last.pt within 120 s:\n" << dt::read_text(d.root / "rank0.log"));
  }
  return ranks;
}

}  // namespace

TEST_CASE("two ranks of batch 2 reach the weights of one process of batch 4 with missing landmarks", "[distributed]") {
  compare_with_reference(1);
}

TEST_CASE("with accumulation two ranks of 2 micro-batches of 2 reach one process of 2 micro-batches of 4",
          "[distributed]") {
  compare_with_reference(2);
}

// Synchronised BatchNorm: each micro-batch of the reference is the union of
// the ranks' micro-batches, so its statistics, gradients and running
// statistics must be the same.
TEST_CASE("with synchronised BatchNorm two ranks of batch 2 reach one process of batch 4 and its running statistics",
          "[distributed]") {
  compare_with_reference(1, {"bn=1"}, {"bn=1", "sync_bn=1"}, "2 BatchNorm layers normalise over all 2 ranks");
}

TEST_CASE("with synchronised BatchNorm and accumulation two ranks reach one process of twice the micro-batch",
          "[distributed]") {
  compare_with_reference(2, {"bn=1"}, {"bn=1", "sync_bn=1"}, "2 BatchNorm layers normalise over all 2 ranks");
}

// The counterpart that shows the comparison above can fail: BatchNorm over
// each rank's own micro-batch trains other weights.
TEST_CASE("without synchronised BatchNorm two ranks of batch 2 do not reach one process of batch 4", "[distributed]") {
  const dataset d;
  run_reference(d, "ref", {"bn=1"});
  run_two_ranks(d, "ddp", {"bn=1"});
  CHECK(max_difference(load_weights(d.root / "ref" / "weights.pt"), load_weights(d.root / "ddp" / "weights.pt")) > 1e-4);
  CHECK(dt::read_text(d.root / "rank0.log").find("normalise over all") == std::string::npos);
}

// Sends `signal` to rank 1 of a run with a `timeout_s` heartbeat timeout: rank 0
// must fail within `limit_s`, naming rank 1, never hang.
static void expect_rank_one_named(int signal, int timeout_s, std::chrono::seconds wait, double limit_s) {
  const dataset d;
  auto ranks = start_long_run(d, timeout_s);
  ::kill(ranks[1].pid, signal);
  const auto signalled_at = std::chrono::steady_clock::now();
  const auto status = dt::wait_for(ranks[0], wait);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - signalled_at).count();
  if (!status) dt::kill_and_reap(ranks[0]);
  dt::kill_and_reap(ranks[1]);
  const auto log = dt::read_text(ranks[0].output);
  INFO(log);
  REQUIRE(status.has_value());
  CHECK(*status != 0);
  CHECK(seconds < limit_s);
  CHECK(log.find("rank 1 stopped responding") != std::string::npos);
}

TEST_CASE("a rank killed with SIGKILL makes the other fail within the timeout naming it", "[distributed]") {
  expect_rank_one_named(SIGKILL, 5, 30s, 5 + 10);  // the timeout, and the few beats that name the culprit
}

TEST_CASE("a stopped rank makes the other fail after the timeout naming it instead of hanging", "[distributed]") {
  expect_rank_one_named(SIGSTOP, 4, 40s, 4 + 15);
}

TEST_CASE("SIGTERM to one rank stops both at the same window with one recovery checkpoint", "[distributed]") {
  const dataset d;
  auto ranks = start_long_run(d, 30);
  ::kill(ranks[1].pid, SIGTERM);
  for (const auto& r : ranks) require_success(r, 60s);
  const auto log0 = dt::read_text(ranks[0].output), log1 = dt::read_text(ranks[1].output);
  INFO(log0 << "\n--- rank 1:\n" << log1);
  const auto where = [](const std::string& log, const std::string& rank) {
    const auto at = log.find("worker rank " + rank + " of 2: ");
    REQUIRE(at != std::string::npos);
    return log.substr(at + 20, log.find('\n', at) - at - 20);
  };
  CHECK(where(log0, "0") == where(log1, "1"));  // same epoch, batch and step
  CHECK(where(log0, "0").find("interrupted") != std::string::npos);
  CHECK(log0.find("SIGTERM received") != std::string::npos);
  CHECK(fs::exists(d.root / "ddp" / "recovery.pt"));
  std::size_t recovery_files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(d.root / "ddp"))
    recovery_files += entry.path().filename().string().find("recovery") != std::string::npos ? 1 : 0;
  CHECK(recovery_files == 1);
}

}  // namespace test_distributed
