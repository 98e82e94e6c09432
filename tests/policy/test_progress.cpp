// The progress policy: driven by a fake clock and context for its timing and
// text, then once through a real fit to see that the loop raises its hooks.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>

#include <mixtrain/policy/progress.hpp>

#include "policy_test_support.hpp"

namespace mt = mixtrain;
namespace hana = boost::hana;
using namespace policy_test;
using mt::policy::progress_mode;

namespace test_progress {
namespace {

// The members of the context the policy reads.
struct fake_context {
  std::ostringstream out;
  std::ostream* log = &out;
  std::int64_t epoch = 2, epochs = 40;
  std::int64_t global_step = 1, fit_first_step = 1;
  bool stop_requested = false;
};

// A pipeline that has waited `waited` seconds for data.
struct fake_pipeline {
  std::int64_t batches = 10;
  double waited = 0;
  [[nodiscard]] std::int64_t batches_per_epoch() const { return batches; }
  [[nodiscard]] double wait_seconds() const { return waited; }
};

template <progress_mode Mode, double Seconds = 10.0>
using progress_of = mt::policy::progress<mt::policy::progress_config{.mode = Mode, .seconds = Seconds}, fake_clock>;

// One training pass of `pipe.batches` batches of 4 images, `step` seconds each.
template <class Policy>
void train_pass(Policy& policy, fake_context& ctx, fake_pipeline& pipe, double step, bool evaluating = false) {
  auto p = mt::batch_progress::start(pipe, 0, 4 * pipe.batches, 4);
  p.started = fake_clock::now();
  for (std::int64_t b = 0; b < pipe.batches; ++b) {
    fake_clock::advance(step);
    p.add(4);
    if (evaluating) policy.on_evaluation_batch(ctx, p);
    else policy.on_train_batch(ctx, p);
  }
}

std::size_t count(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

}  // namespace

TEST_CASE("progress: the times read 0:03 and 2 min 05 s", "[progress]") {
  using mt::policy::progress_detail::clock_time;
  using mt::policy::progress_detail::spoken_time;
  CHECK(clock_time(3) == "0:03");
  CHECK(clock_time(125.4) == "2:05");
  CHECK(clock_time(3725) == "1:02:05");
  CHECK(clock_time(-1) == "0:00");
  CHECK(spoken_time(3) == "3 s");
  CHECK(spoken_time(59.6) == "1 min 00 s");
  CHECK(spoken_time(125) == "2 min 05 s");
  CHECK(spoken_time(3725) == "1 h 02 min");
}

TEST_CASE("progress: the expected images of a pass, with views and after a resume", "[progress]") {
  using mt::batch_progress;
  CHECK(batch_progress::expected_images(4, 2, 8) == 8);
  CHECK(batch_progress::expected_images(3, 2, 5) == 5);    // a short last batch
  CHECK(batch_progress::expected_images(12, 2, 8) == 24);  // three test-time views of each image
  CHECK(batch_progress::expected_images(5, 4, 0) == 20);   // the split's size unknown: full batches
  fake_pipeline pipe{.batches = 10};
  const auto resumed = batch_progress::start(pipe, 3, 20, 2);  // 3 of 10 batches done before
  CHECK(resumed.images_total == 14);
  CHECK(resumed.batches == 3);
  CHECK(resumed.first_batch == 3);
}

TEST_CASE("progress: lines every S seconds with the images, rate and ETA of the pass", "[progress]") {
  progress_of<progress_mode::lines> policy;
  fake_context ctx;
  fake_pipeline pipe{.batches = 10, .waited = 0};
  // 3 s a batch, a line due every 10 s: after batch 4 (12 s) and batch 8 (24 s).
  train_pass(policy, ctx, pipe, 3.0);
  const auto text = ctx.out.str();
  CHECK(text ==
        "epoch 3/40: 16/40 images, 1.3 img/s, ETA 18 s, data wait 0%\n"
        "epoch 3/40: 32/40 images, 1.3 img/s, ETA 6 s, data wait 0%\n");
  CHECK(text.find('\r') == std::string::npos);
}

TEST_CASE("progress: the data wait is the pipeline's since the pass started", "[progress]") {
  progress_of<progress_mode::lines, 5.0> policy;
  fake_context ctx;
  fake_pipeline pipe{.batches = 2, .waited = 100};
  auto p = mt::batch_progress::start(pipe, 0, 8, 4);
  p.started = fake_clock::now();
  pipe.waited = 101.5;  // 1.5 s of the 6 s waited for data
  fake_clock::advance(6);
  p.add(4);
  policy.on_train_batch(ctx, p);
  CHECK(ctx.out.str() == "epoch 3/40: 4/8 images, 0.7 img/s, ETA 6 s, data wait 25%\n");
}

TEST_CASE("progress: nothing when a pass is shorter than S, or when off", "[progress]") {
  fake_context ctx;
  fake_pipeline pipe{.batches = 10};
  progress_of<progress_mode::lines> lines;
  train_pass(lines, ctx, pipe, 0.9);  // 9 s in all
  train_pass(lines, ctx, pipe, 0.9, true);
  CHECK(ctx.out.str().empty());
  progress_of<progress_mode::off> off;
  train_pass(off, ctx, pipe, 60);
  train_pass(off, ctx, pipe, 60, true);
  CHECK(ctx.out.str().empty());
}

TEST_CASE("progress: the timer restarts with each pass", "[progress]") {
  progress_of<progress_mode::lines> policy;
  fake_context ctx;
  fake_pipeline pipe{.batches = 4};
  train_pass(policy, ctx, pipe, 2);  // 8 s
  train_pass(policy, ctx, pipe, 2);  // 8 s more: 16 s since the first, 8 since this one began
  CHECK(ctx.out.str().empty());
}

TEST_CASE("progress: validation and evaluate passes are labelled", "[progress]") {
  progress_of<progress_mode::lines, 1.0> policy;
  fake_context ctx;
  fake_pipeline pipe{.batches = 2};
  train_pass(policy, ctx, pipe, 1.5, true);  // outside a fit: the evaluate command
  policy.on_fit_begin(ctx);
  train_pass(policy, ctx, pipe, 1.5, true);
  policy.on_fit_end(ctx);
  const auto text = ctx.out.str();
  CHECK(count(text, "evaluate: 4/8 images") == 1);
  CHECK(count(text, "epoch 3/40 valid: 4/8 images") == 1);
}

TEST_CASE("progress: the bar redraws with carriage returns and is erased at the end of the pass", "[progress]") {
  progress_of<progress_mode::bar> policy;
  fake_context ctx;
  fake_pipeline pipe{.batches = 10};
  policy.on_fit_begin(ctx);
  train_pass(policy, ctx, pipe, 0.05);  // a redraw every 0.1 s: after every second batch
  const auto text = ctx.out.str();
  CHECK(text.find('\n') == std::string::npos);
  CHECK(count(text, "\r") == 4 + 2);  // batches 2, 4, 6, 8; then the erasing pair
  CHECK(text.find("\repoch 3/40 [####................] 8/40 img  80.0 img/s  wait 0%  ETA 0:00") != std::string::npos);
  // Erased: the line is blanked and the cursor is back at its start.
  const auto erase = text.substr(text.rfind('\r', text.size() - 2));
  CHECK(erase.size() > 10);
  CHECK(std::all_of(erase.begin() + 1, erase.end() - 1, [](char c) { return c == ' '; }));
  CHECK(erase.back() == '\r');
  // console_log's epoch line follows on a clean line.
  *ctx.log << "epoch   3/40  loss 0.1\n";
  CHECK(ctx.out.str().ends_with("\repoch   3/40  loss 0.1\n"));
}

TEST_CASE("progress: a stop request erases the bar at once", "[progress]") {
  progress_of<progress_mode::bar> policy;
  fake_context ctx;
  fake_pipeline pipe{.batches = 10};
  auto p = mt::batch_progress::start(pipe, 0, 40, 4);
  p.started = fake_clock::now();
  fake_clock::advance(1);
  p.add(4);
  policy.on_train_batch(ctx, p);
  CHECK(ctx.out.str().starts_with("\repoch 3/40 [##"));
  ctx.stop_requested = true;
  p.add(4);
  policy.on_train_batch(ctx, p);
  CHECK(ctx.out.str().ends_with(" \r"));
  const auto before = ctx.out.str();
  fake_clock::advance(1);
  p.add(4);
  policy.on_train_batch(ctx, p);  // the window goes on to its end, silently
  CHECK(ctx.out.str() == before);
}

TEST_CASE("progress: no bar before the run's first optimizer step (console_log prints a line then)", "[progress]") {
  progress_of<progress_mode::bar> policy;
  fake_context ctx;
  ctx.global_step = 0;
  fake_pipeline pipe{.batches = 10};
  policy.on_fit_begin(ctx);
  auto p = mt::batch_progress::start(pipe, 0, 40, 4);
  p.started = fake_clock::now();
  fake_clock::advance(1);
  p.add(4);
  policy.on_train_batch(ctx, p);
  CHECK(ctx.out.str().empty());
  ctx.global_step = 1;
  fake_clock::advance(1);
  p.add(4);
  policy.on_train_batch(ctx, p);
  CHECK(ctx.out.str().starts_with("\repoch 3/40 ["));
}

TEST_CASE("progress: auto draws lines when the log is not a terminal", "[progress]") {
  using mt::policy::progress_detail::resolve;
  std::ostringstream out;
  CHECK(resolve(progress_mode::automatic, &out) == progress_mode::lines);
  CHECK(resolve(progress_mode::bar, &out) == progress_mode::bar);
  CHECK(resolve(progress_mode::off, &std::cout) == progress_mode::off);
}

TEST_CASE("progress: --progress and --progress_seconds set the mode and period", "[progress]") {
  mt::policy::progress<> policy;
  CLI::App app;
  policy.add_flags(app);
  app.parse("--progress off --progress_seconds 0.5", false);
  CHECK(policy.config.mode == progress_mode::off);
  CHECK(policy.config.seconds == 0.5);
  CHECK(policy.describe() == nlohmann::json{{"mode", "off"}, {"seconds", 0.5}, {"bar_seconds", 0.1}, {"bar_width", 20}});
  mt::policy::progress<> other;
  CLI::App bad;
  other.add_flags(bad);
  CHECK_THROWS_AS(bad.parse("--progress sometimes", false), CLI::ValidationError);
  CHECK_THROWS_AS(bad.parse("--progress_seconds=-1", false), CLI::ValidationError);
}

TEST_CASE("progress: a real fit raises the hooks for training and validation batches", "[progress]") {
  // Its own folder: the other tests' dataset lives under "data" for the whole run.
  temp_dir folder("progress_data"), out("progress");
  mt::data::write_synthetic_aariz(
      folder.path, {.train_images = 8, .valid_images = 4, .test_images = 0, .min_side = 96, .max_side = 160, .seed = 7});
  mt::data::landmark_set landmarks;
  const auto train = mt::data::read_aariz_split(folder.path, "train", landmarks);
  const auto valid = mt::data::read_aariz_split(folder.path, "valid", landmarks);
  using recipe = tiny_recipe<>;
  mt::trainer<recipe> t;
  STATIC_REQUIRE(mt::trainer<recipe>::policy_count == 3);
  auto& progress = hana::at_c<2>(t.policies);
  progress.config.mode = progress_mode::lines;
  progress.config.seconds = 0;  // a line after every batch
  quick_run(t, out.path, 2);
  torch::manual_seed(1);
  t.build(landmarks);
  std::ostringstream log;
  t.ctx().log = &log;
  t.fit(train, valid);
  const auto text = log.str();
  // 8 training images in batches of 2, 4 validation images, two epochs.
  CHECK(count(text, "epoch 1/2: ") == 4);
  CHECK(count(text, "epoch 2/2: 8/8 images") == 1);
  CHECK(count(text, "epoch 1/2 valid: ") == 2);
  CHECK(count(text, "epoch 2/2 valid: 4/4 images") == 1);
  CHECK(text.find('\r') == std::string::npos);
  // The policy is output only: a resume does not compare it.
  CHECK(t.run_identity(train)["policies"] == nlohmann::json::array({"console_log", "csv_log"}));
}

}  // namespace test_progress
