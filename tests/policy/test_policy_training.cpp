// Policies inside real fits on a small synthetic dataset: accumulation
// windows, early stopping, and the zero-footprint guarantee for recipes
// without policies. Checkpoints, resume and --init_from:
// test_policy_checkpoints.cpp.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <mixtrain/policy/accumulate.hpp>
#include <mixtrain/policy/early_stopping.hpp>

#include "policy_test_support.hpp"

namespace mt = mixtrain;
namespace hana = boost::hana;
using namespace policy_test;

namespace test_policy_training {
namespace {

struct grad_probe {
  static constexpr std::string_view name = "grad_probe";
  std::vector<torch::Tensor> grads;
  bool before_optimizer_step(auto& ctx) {
    grads = gradients(*ctx.model);
    return true;
  }
};

// Records where each micro-batch falls.
struct window_probe {
  static constexpr std::string_view name = "window_probe";
  std::vector<std::int64_t> lengths, steps_after;
  void scale_loss(auto& ctx, torch::Tensor&) { lengths.push_back(ctx.window_length); }
  bool before_optimizer_step(auto& ctx) {
    steps_after.push_back(ctx.batch_in_epoch);
    return true;
  }
};

// Implements a few events and records each call.
struct event_probe {
  static constexpr std::string_view name = "event_probe";
  std::vector<std::string_view>* calls = nullptr;
  void on_fit_begin(auto&) { calls->push_back("on_fit_begin"); }
  void on_epoch_begin(auto&) { calls->push_back("on_epoch_begin"); }
  bool before_optimizer_step(auto&) {
    calls->push_back("before_optimizer_step");
    return true;
  }
  void on_validation_end(auto&) { calls->push_back("on_validation_end"); }
  void on_fit_end(auto&) { calls->push_back("on_fit_end"); }
};

struct stateless_policy {
  static constexpr std::string_view name = "stateless";
};

}  // namespace

// --- accumulate --------------------------------------------------------------------

TEST_CASE("accumulate: 4 micro-batches of 2 give the gradients of one batch of 8", "[accumulate]") {
  mt::trainer<tiny_recipe<mt::policy::accumulate<{.steps = 4}>, grad_probe>> acc;
  mt::trainer<tiny_recipe<grad_probe>> whole;
  build_seeded(acc, numbered_landmarks(3), 1);
  build_seeded(whole, numbered_landmarks(3), 1);
  CHECK(acc.accumulation_steps() == 4);
  const auto b = make_batch(8, 32, 3, 50);
  acc.ctx().window_length = 4;
  for (int i = 0; i < 4; ++i) acc.train_micro_batch(acc.to_device(slice(b, 2 * i, 2)), i == 3);
  whole.train_micro_batch(whole.to_device(b), true);
  const auto& g1 = hana::at_c<1>(acc.policies).grads;
  const auto& g2 = hana::at_c<0>(whole.policies).grads;
  REQUIRE(g1.size() == g2.size());
  for (std::size_t i = 0; i < g1.size(); ++i) {
    INFO("parameter " << i << ", max |g| " << g2[i].abs().max().item<double>());
    CHECK(torch::allclose(g1[i], g2[i], 0.0, 1e-6));
  }
  CHECK(acc.ctx().global_step == 1);
  CHECK(acc.ctx().micro_step == 4);
  const auto w1 = snapshot(*acc.model().ptr()), w2 = snapshot(*whole.model().ptr());
  for (const auto& [name, value] : w1) CHECK(torch::allclose(value, w2.at(name), 0.0, 1e-6));

  // --gradient_accumulation_steps overrides the compiled number.
  CLI::App cli;
  acc.emit(mt::hook::add_flags{}, cli);
  const char* argv[] = {"test", "--gradient_accumulation_steps", "2"};
  cli.parse(3, argv);
  CHECK(acc.accumulation_steps() == 2);
}

TEST_CASE("accumulate: the last, shorter window of an epoch is normalised on its own", "[accumulate]") {
  using T = mt::trainer<tiny_recipe<>>;
  // 5 micro-batches in windows of 4: [0..3], then [4] alone.
  std::vector<std::int64_t> lengths;
  std::vector<bool> ends;
  for (int b = 0; b < 5; ++b) {
    const auto w = T::window_at(b, 5, 4);
    lengths.push_back(w.length);
    ends.push_back(w.ends);
  }
  CHECK(lengths == std::vector<std::int64_t>{4, 4, 4, 4, 1});
  CHECK(ends == std::vector<bool>{false, false, false, true, true});
  CHECK(T::window_at(5, 7, 4).length == 3);
  CHECK(T::window_at(6, 7, 4).ends);

  // A window of 3 micro-batches of 2 equals one batch of 6.
  mt::trainer<tiny_recipe<mt::policy::accumulate<{.steps = 4}>, grad_probe>> acc;
  mt::trainer<tiny_recipe<grad_probe>> whole;
  build_seeded(acc, numbered_landmarks(3), 2);
  build_seeded(whole, numbered_landmarks(3), 2);
  const auto b = make_batch(6, 32, 3, 60);
  acc.ctx().window_length = 3;
  for (int i = 0; i < 3; ++i) acc.train_micro_batch(acc.to_device(slice(b, 2 * i, 2)), i == 2);
  whole.train_micro_batch(whole.to_device(b), true);
  const auto& g1 = hana::at_c<1>(acc.policies).grads;
  const auto& g2 = hana::at_c<0>(whole.policies).grads;
  for (std::size_t i = 0; i < g1.size(); ++i) CHECK(torch::allclose(g1[i], g2[i], 0.0, 1e-6));

  // In a fit: 8 images in batches of 2 are 4 micro-batches, windows [3, 1].
  temp_dir out("accumulate_fit");
  mt::trainer<unet_recipe<mt::policy::accumulate<{.steps = 3}>, window_probe>> t;
  quick_run(t, out.path, 2);
  build_seeded(t, dataset().landmarks, 3);
  std::ostringstream log;
  t.ctx().log = &log;
  t.fit(dataset().train, dataset().valid);
  const auto& probe = hana::at_c<1>(t.policies);
  CHECK(t.ctx().updates_per_epoch == 2);
  CHECK(t.ctx().global_step == 4);
  CHECK(probe.lengths == std::vector<std::int64_t>{3, 3, 3, 1, 3, 3, 3, 1});
  CHECK(probe.steps_after == std::vector<std::int64_t>{2, 3, 2, 3});
}

namespace {
// Gradients of micro-batches [sizes...] accumulated in one window, and of the
// whole batch at once; `b` has missing landmarks.
void check_window_equals_batch(const mt::data::batch& b, const std::vector<int>& sizes, std::uint64_t seed) {
  mt::trainer<tiny_recipe<mt::policy::accumulate<{.steps = 8}>, grad_probe>> acc;
  mt::trainer<tiny_recipe<grad_probe>> whole;
  build_seeded(acc, numbered_landmarks(3), seed);
  build_seeded(whole, numbered_landmarks(3), seed);
  acc.ctx().window_length = static_cast<std::int64_t>(sizes.size());
  int first = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    acc.train_micro_batch(acc.to_device(slice(b, first, sizes[i])), i + 1 == sizes.size());
    first += sizes[i];
  }
  whole.train_micro_batch(whole.to_device(b), true);
  const auto& g1 = hana::at_c<1>(acc.policies).grads;
  const auto& g2 = hana::at_c<0>(whole.policies).grads;
  REQUIRE(g1.size() == g2.size());
  for (std::size_t i = 0; i < g1.size(); ++i) {
    const double scale = g2[i].abs().max().item<double>();
    INFO("parameter " << i << ", max |g| " << scale);
    CHECK(scale > 1e-6);  // not trivially equal near zero
    CHECK(torch::allclose(g1[i], g2[i], 1e-4, 1e-4 * scale));
  }
}

// Some landmarks missing, unevenly across the images.
mt::data::batch with_missing_landmarks(int size, std::uint64_t seed) {
  auto b = make_batch(size, 32, 3, seed);
  for (std::size_t i = 0; i < b.present.size(); ++i)
    if ((i * 7 + seed) % 5 < 2 || (i < 3)) b.present[i] = 0.0F;  // image 0 misses all three
  return b;
}
}  // namespace

TEST_CASE("accumulate: with missing landmarks 4 micro-batches of 2 equal one batch of 8", "[accumulate]") {
  const auto b = with_missing_landmarks(8, 70);
  float present = 0;
  for (auto v : b.present) present += v;
  REQUIRE(present > 0);
  REQUIRE(present < static_cast<float>(b.present.size()));
  check_window_equals_batch(b, {2, 2, 2, 2}, 4);
}

TEST_CASE("accumulate: a short last window with missing landmarks equals one batch of its images", "[accumulate]") {
  // Windows of 3 micro-batches of 2, 2 and 1 images: the window holds 5.
  check_window_equals_batch(with_missing_landmarks(5, 71), {2, 2, 1}, 5);
}

// --- zero overhead -----------------------------------------------------------------------

TEST_CASE("zero_overhead: no policy bytes without policies and a probe sees only the events it implements",
          "[zero_overhead]") {
  using bare = unet_recipe<>;
  static_assert(std::is_empty_v<bare::policies>, "a recipe without policies must hold an empty policy tuple");
  // Only the default policies: the two logging ones hold no state, progress
  // holds its own settings and timer.
  static_assert(sizeof(mt::trainer<bare>::policy_tuple) == sizeof(mt::policy::progress<>),
                "the trainer must store no policy bytes but the progress display's");
  static_assert(mt::trainer<bare>::policy_count == 3);
  static_assert(sizeof(mt::trainer<unet_recipe<stateless_policy>>) == sizeof(mt::trainer<bare>),
                "a stateless policy must add no bytes to the trainer");
  static_assert(!mt::hook::scale_loss::present<event_probe>);
  static_assert(!mt::hook::prepare_input::present<event_probe>);
  static_assert(!mt::hook::forward_scope::present<event_probe>);
  static_assert(mt::hook::before_optimizer_step::present<event_probe>);
  CHECK(std::is_empty_v<bare::policies>);

  temp_dir out("probe");
  std::vector<std::string_view> calls;
  mt::trainer<unet_recipe<event_probe>> t;
  hana::at_c<0>(t.policies).calls = &calls;
  quick_run(t, out.path, 2);
  build_seeded(t, dataset().landmarks, 4);
  std::ostringstream log;
  t.ctx().log = &log;
  t.fit(dataset().train, dataset().valid);
  std::map<std::string, int> counts;
  for (const auto& c : calls) ++counts[std::string(c)];
  CHECK(counts == std::map<std::string, int>{{"before_optimizer_step", 8},
                                             {"on_epoch_begin", 2},
                                             {"on_fit_begin", 1},
                                             {"on_fit_end", 1},
                                             {"on_validation_end", 2}});
  CHECK(calls.front() == "on_fit_begin");
  CHECK(calls.back() == "on_fit_end");
}

// --- early_stopping --------------------------------------------------------------------------

TEST_CASE("early_stopping: a fit stops after patience epochs, logs why and keeps last.pt", "[early_stopping]") {
  // Nothing improves by 1e9: epoch 1 sets the best, epoch 2 exhausts patience 1.
  temp_dir out("early_stop");
  mt::trainer<unet_recipe<mt::policy::early_stopping<{.patience = 1, .min_delta = 1e9}>>> t;
  quick_run(t, out.path, 5);
  build_seeded(t, dataset().landmarks, 5);
  std::ostringstream log;
  t.ctx().log = &log;
  const auto result = t.fit(dataset().train, dataset().valid);
  CHECK(result.epochs_run == 2);
  CHECK(t.ctx().stop_requested);
  CHECK(t.ctx().stop_reason.rfind("early stopping: val_mre did not improve", 0) == 0);
  CHECK(log.str().find("early stopping: val_mre did not improve by more than") != std::string::npos);
  CHECK(log.str().find("for 1 epochs") != std::string::npos);
  CHECK(std::filesystem::exists(out.path / "last.pt"));
}

}  // namespace test_policy_training
