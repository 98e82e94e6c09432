// thread_split: the schedule and the choice by hand, the policy driven by a
// fake clock whose windows take longer at one thread count, and a real fit in
// which a probe policy slows one count down.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <mixtrain/policy/thread_split.hpp>

#include "policy_test_support.hpp"

namespace mt = mixtrain;
namespace hana = boost::hana;
using namespace policy_test;
using mt::policy::thread_split_config;
using mt::policy::thread_trials;

namespace test_thread_split {
namespace {

// The members of the trainer's context the policy reads.
struct split_context {
  std::ostringstream out;
  std::ostream* log = &out;
  torch::Device device{torch::kCPU};
  int world_size = 1;
  std::int64_t epoch = 0;
  std::int64_t batch_in_epoch = 0, batches_per_epoch = 40, updates_per_epoch = 40;
  bool window_ends = true;
};

struct idle_pipeline {
  double waited = 0;
  [[nodiscard]] std::int64_t batches_per_epoch() const { return 40; }
  [[nodiscard]] double wait_seconds() const { return waited; }
};

// Restores LibTorch's thread count whatever a test leaves behind.
struct thread_count_guard {
  int saved = torch::get_num_threads();
  ~thread_count_guard() { torch::set_num_threads(saved); }
};

// One epoch of `batches` windows of 4 images; a window takes `seconds(threads)`
// on the fake clock, and the counts the windows ran at are appended to `seen`.
template <class Policy, class Seconds>
void run_epoch(Policy& policy, split_context& ctx, Seconds seconds, std::vector<int>& seen) {
  idle_pipeline pipe;
  policy.on_epoch_begin(ctx);
  auto p = mt::batch_progress::start(pipe, 0, 4 * ctx.batches_per_epoch, 4);
  for (std::int64_t b = 0; b < ctx.batches_per_epoch; ++b) {
    seen.push_back(torch::get_num_threads());
    fake_clock::advance(seconds(torch::get_num_threads()));
    p.add(4);
    policy.on_train_batch(ctx, p);
  }
  ++ctx.epoch;  // as the trainer counts it before on_epoch_end
  policy.on_epoch_end(ctx);
}

// Sleeps in every window run at `slow_threads` intra-op threads.
struct slow_at_threads {
  static constexpr std::string_view name = "slow_at_threads";
  int slow_threads = 2;
  std::vector<int> seen;
  void on_train_batch(auto&, const mt::batch_progress&) {
    seen.push_back(torch::get_num_threads());
    // Far above a window's own time even beside another busy process (spinning
    // OpenMP threads can make a window 8x slower there), so the choice is the probe's.
    if (torch::get_num_threads() == slow_threads) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
};

}  // namespace

TEST_CASE("thread_split: the counts tried are the start, one fewer and half", "[thread_split]") {
  CHECK(thread_trials::candidates(2) == std::vector<int>({2, 1}));
  CHECK(thread_trials::candidates(3) == std::vector<int>({3, 2}));
  CHECK(thread_trials::candidates(8) == std::vector<int>({8, 7, 4}));
  CHECK(thread_trials::candidates(1) == std::vector<int>({1}));
}

TEST_CASE("thread_split: the trials fit in half the epoch's windows, rounds rotate the order", "[thread_split]") {
  thread_trials t;
  const thread_split_config config{};  // 3 timed windows, 2 rounds
  t.plan({2, 1}, 40, config);          // 2 rounds x 2 counts x (1 + 3) = 16 <= 20
  CHECK(t.timed_windows() == 3);
  REQUIRE(t.slots().size() == 4);
  CHECK(t.slots()[0].threads == 2);
  CHECK(t.slots()[1].threads == 1);
  CHECK(t.slots()[2].threads == 1);  // round 2 starts with the other count
  CHECK(t.slots()[3].threads == 2);
  CHECK(t.slots()[3].round == 1);

  t.plan({2, 1}, 12, config);  // 2 rounds do not fit (12 / 2 / 4 - 1 = 0); 1 round of 2 timed windows does
  CHECK(t.timed_windows() == 2);
  CHECK(t.slots().size() == 2);

  t.plan({2, 1}, 7, config);
  CHECK(t.slots().empty());
  CHECK(t.why_not() == "the epoch has 7 optimizer windows, too few to time 2 counts");
}

TEST_CASE("thread_split: the fastest median wins, the starting count keeps a near tie", "[thread_split]") {
  thread_trials t;
  t.plan({2, 1}, 40, thread_split_config{});
  t.add({2, 1.0, 10, 0});  // 10 images/s
  CHECK(t.choice(0.03) == 0);  // 1 thread not timed yet
  t.add({1, 1.0, 12, 0});
  t.add({1, 1.0, 30, 0});
  t.add({1, 1.0, 11, 0});   // median of 12, 30, 11: 12
  CHECK(t.rate(1) == Approx(12.0));
  CHECK(t.choice(0.03) == 1);
  CHECK(t.choice(0.2) == 2);  // 10 >= 12 x 0.8: within the tolerance, the start stays
}

TEST_CASE("thread_split: after round 1 a count slower by more than drop_slower is not timed again", "[thread_split]") {
  thread_trials t;
  const thread_split_config config{};  // drop_slower 0.2
  t.plan({2, 1}, 40, config);
  t.add({2, 1.0, 10, 0});
  CHECK_FALSE(t.dropped(1));
  CHECK(t.next_slot(1) == 1);
  SECTION("21 % slower: dropped") {
    t.add({1, 10.0, 79, 0});  // 7.9 images/s < 10 x 0.8
    CHECK(t.dropped(1));
    CHECK_FALSE(t.dropped(2));
    CHECK(t.next_slot(2) == 3);  // slot 2 (1 thread, round 2) is skipped
    CHECK(t.next_slot(4) == 4);
    t.add({2, 1.0, 12, 0});
    CHECK(t.choice(0.03) == 2);
  }
  SECTION("19 % slower: timed again") {
    t.add({1, 10.0, 81, 0});  // 8.1 images/s
    CHECK_FALSE(t.dropped(1));
    CHECK(t.next_slot(2) == 2);
    CHECK(t.next_slot(3) == 3);
  }
}

TEST_CASE("thread_split: cold and warm epochs each keep their faster count, then it holds", "[thread_split]") {
  const thread_count_guard guard;
  torch::set_num_threads(2);
  mt::policy::thread_split<thread_split_config{}, fake_clock> policy;
  split_context ctx;
  std::vector<int> seen;
  policy.on_fit_begin(ctx);
  // Cold: one thread is faster (0.3 s a window of 4 images against 0.5 s).
  run_epoch(policy, ctx, [](int n) { return n == 1 ? 0.3 : 0.5; }, seen);
  // The schedule: 4 windows at 2, 8 at 1 (two rounds meet); 2 threads, 40 % slower in round 1,
  // is not timed again, and 1 thread runs the rest of the epoch.
  std::vector<int> expected(4, 2);
  expected.insert(expected.end(), 36, 1);
  CHECK(seen == expected);
  REQUIRE(policy.decisions().size() == 1);
  CHECK(policy.decisions()[0].threads == 1);
  CHECK_FALSE(policy.decisions()[0].warm);
  CHECK(policy.decisions()[0].line ==
        "thread split: epoch 1 (cold), 2 rounds of 3 windows: 2 threads 8.0 images/s (data wait 0 %, dropped after "
        "round 1), 1 thread 13.3 images/s (data wait 0 %) -> 1 thread for this epoch");
  // Warm: now two threads are faster; it is measured again and kept.
  seen.clear();
  run_epoch(policy, ctx, [](int n) { return n == 2 ? 0.2 : 0.4; }, seen);
  REQUIRE(policy.decisions().size() == 2);
  CHECK(policy.decisions()[1].threads == 2);
  CHECK(policy.decisions()[1].warm);
  CHECK(seen.back() == 2);
  // Later epochs measure nothing and run at the warm choice.
  seen.clear();
  run_epoch(policy, ctx, [](int n) { return n == 2 ? 0.6 : 0.1; }, seen);
  CHECK(policy.decisions().size() == 2);
  CHECK(seen == std::vector<int>(40, 2));
  torch::set_num_threads(1);
  policy.on_fit_end(ctx);
  CHECK(torch::get_num_threads() == 2);  // the run's starting count, for what follows the fit
  CHECK(ctx.out.str().find("-> 2 threads for the rest of the run") != std::string::npos);
}

TEST_CASE("thread_split: a short epoch, one thread, CUDA or several ranks measure nothing", "[thread_split]") {
  const thread_count_guard guard;
  std::vector<int> seen;
  const auto same = [](int) { return 0.1; };
  SECTION("an epoch of 6 windows") {
    torch::set_num_threads(2);
    mt::policy::thread_split<thread_split_config{}, fake_clock> policy;
    split_context ctx;
    ctx.batches_per_epoch = ctx.updates_per_epoch = 6;
    policy.on_fit_begin(ctx);
    run_epoch(policy, ctx, same, seen);
    CHECK(seen == std::vector<int>(6, 2));
    REQUIRE(policy.decisions().size() == 1);
    CHECK(policy.decisions()[0].line ==
          "thread split: epoch 1 (cold): not measured, the epoch has 6 optimizer windows, too few to time 2 counts; "
          "2 threads");
  }
  SECTION("one thread, several ranks") {
    for (const int ranks : {1, 2}) {
      torch::set_num_threads(ranks == 1 ? 1 : 2);
      mt::policy::thread_split<thread_split_config{}, fake_clock> policy;
      split_context ctx;
      ctx.world_size = ranks;
      policy.on_fit_begin(ctx);
      run_epoch(policy, ctx, same, seen);
      CHECK(policy.decisions().empty());
      CHECK(ctx.out.str() == (ranks == 1 ? "thread split: off, LibTorch has one thread\n"
                                         : "thread split: off, 2 ranks wait for each other\n"));
    }
  }
}

TEST_CASE("thread_split: in a real fit the count a probe slows down is measured and dropped", "[thread_split]") {
  const thread_count_guard guard;
  temp_dir folder("split_data"), out("split");
  mt::data::write_synthetic_aariz(
      folder.path, {.train_images = 16, .valid_images = 2, .test_images = 0, .min_side = 96, .max_side = 128, .seed = 5});
  mt::data::landmark_set landmarks;
  const auto train = mt::data::read_aariz_split(folder.path, "train", landmarks);
  const auto valid = mt::data::read_aariz_split(folder.path, "valid", landmarks);
  const int slow = GENERATE(2, 1);
  using recipe = tiny_recipe<mt::policy::thread_split<{.windows_per_trial = 1}>, slow_at_threads>;
  mt::trainer<recipe> t;
  auto& probe = hana::at_c<1>(t.policies);
  probe.slow_threads = slow;
  quick_run(t, out.path, 3);
  t.run.fit.batch_size = 1;  // 16 windows an epoch: 2 rounds x 2 counts x 2 windows fit in half
  torch::manual_seed(1);
  t.build(landmarks);
  std::ostringstream log;
  t.ctx().log = &log;
  torch::set_num_threads(2);
  t.fit(train, valid);
  const auto& split = hana::at_c<0>(t.policies);
  REQUIRE(split.decisions().size() == 2);
  CHECK(split.decisions()[0].threads == 3 - slow);
  CHECK(split.decisions()[1].threads == 3 - slow);
  CHECK(split.decisions()[0].trials.size() == 3);  // the slowed count is not timed in round 2
  // The third epoch measures nothing: all its windows ran at the kept count.
  REQUIRE(probe.seen.size() == 48);
  CHECK(std::count(probe.seen.begin() + 32, probe.seen.end(), 3 - slow) == 16);
  CHECK(torch::get_num_threads() == 2);
  INFO(log.str());
  CHECK(log.str().find("thread split: epoch 2 (warm)") != std::string::npos);
}

}  // namespace test_thread_split
