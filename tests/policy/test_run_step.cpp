// The run_step hook (a policy owns the training step) and the cuda_graph
// policy's behaviour where no graph can be captured (this CPU machine); its
// capture itself is checked against eager training in tests/gpu.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <mixtrain/core/tensor_fields.hpp>
#include <mixtrain/policy/accumulate.hpp>
#include <mixtrain/policy/amp.hpp>
#include <mixtrain/policy/cuda_graph.hpp>
#include <mixtrain/task/landmark_heatmaps.hpp>

#include "policy_test_support.hpp"

namespace mt = mixtrain;
namespace hana = boost::hana;
using namespace policy_test;

namespace test_run_step {
namespace {

// Owns the step by calling the loop's own: records what it was given.
struct step_recorder {
  static constexpr std::string_view name = "step_recorder";
  std::vector<std::int64_t> batch_sizes;
  bool scales_loss = false;
  template <class DeviceBatch, class Eager>
  mt::step_outcome run_step(auto&, DeviceBatch& batch, Eager& eager) {
    batch_sizes.push_back(batch.input.size(0));
    scales_loss = Eager::scales_loss;
    return eager(batch);
  }
};

// Replaces the step: a loss of its own and no backward at all.
struct no_backward_step {
  static constexpr std::string_view name = "no_backward_step";
  template <class DeviceBatch, class Eager>
  mt::step_outcome run_step(auto&, DeviceBatch&, Eager&) {
    return {torch::full({}, 0.25), torch::full({}, 6.0)};
  }
};

struct inner_fields {
  torch::Tensor a, b;
};
struct nested_fields {
  torch::Tensor first;
  inner_fields inner;
  torch::Tensor last;
};

}  // namespace

TEST_CASE("run_step: a policy that calls the loop's step trains bit-identically, once per micro-batch", "[run_step]") {
  mt::trainer<tiny_recipe<step_recorder>> owned;
  mt::trainer<tiny_recipe<>> loop;
  torch::manual_seed(4);
  owned.build(numbered_landmarks(3));
  torch::manual_seed(4);
  loop.build(numbered_landmarks(3));
  const auto b = make_batch(6, 32, 3, 51);
  for (int i = 0; i < 3; ++i) {
    owned.train_micro_batch(owned.to_device(slice(b, 2 * i, 2)), true);
    loop.train_micro_batch(loop.to_device(slice(b, 2 * i, 2)), true);
    CHECK(torch::equal(owned.ctx().loss, loop.ctx().loss));
  }
  const auto& recorder = hana::at_c<0>(owned.policies);
  CHECK(recorder.batch_sizes == std::vector<std::int64_t>{2, 2, 2});
  CHECK_FALSE(recorder.scales_loss);
  CHECK(owned.ctx().global_step == 3);
  CHECK(bit_identical(snapshot(*owned.model().ptr()), snapshot(*loop.model().ptr())));

  // The step it is handed knows at compile time that amp<fp16> scales the loss.
  mt::trainer<tiny_recipe<mt::policy::amp<mt::fp16>, step_recorder>> scaled;
  scaled.build(numbered_landmarks(3));
  scaled.train_micro_batch(scaled.to_device(slice(b, 0, 2)), true);
  CHECK(hana::at_c<1>(scaled.policies).scales_loss);
}

TEST_CASE("run_step: the policy's loss and count are what the loop keeps, and without backward nothing moves",
          "[run_step]") {
  mt::trainer<tiny_recipe<no_backward_step>> t;
  torch::manual_seed(5);
  t.build(numbered_landmarks(3));
  const auto before = snapshot(*t.model().ptr());
  const auto b = make_batch(4, 32, 3, 52);
  t.train_micro_batch(t.to_device(slice(b, 0, 2)), true);
  t.train_micro_batch(t.to_device(slice(b, 2, 2)), true);
  CHECK(t.ctx().loss.item<double>() == 0.25);
  CHECK(t.ctx().micro_step == 2);
  // No gradient was written, so AdamW left every parameter as it was.
  CHECK(bit_identical(before, snapshot(*t.model().ptr())));
}

TEST_CASE("tensor_fields: nested device batches are visited in declaration order and copied pairwise", "[run_step]") {
  nested_fields batch{torch::full({1}, 1.0), {torch::full({2}, 2.0), torch::full({3}, 3.0)}, torch::full({4}, 4.0)};
  std::vector<std::int64_t> sizes;
  mt::for_each_tensor(batch, [&](torch::Tensor& t) { sizes.push_back(t.numel()); });
  CHECK(sizes == std::vector<std::int64_t>{1, 2, 3, 4});

  nested_fields copy{torch::zeros({1}), {torch::zeros({2}), torch::zeros({3})}, torch::zeros({4})};
  const nested_fields& source = batch;
  mt::for_each_tensor_pair(copy, source, [](torch::Tensor& to, const torch::Tensor& from) { to.copy_(from); });
  CHECK(copy.inner.b.sum().item<double>() == 9.0);
  CHECK(copy.last.sum().item<double>() == 16.0);
  CHECK(!copy.inner.a.is_same(batch.inner.a));  // copied into, not aliased

  // The landmark task's own device batch: input, target and weight.
  using heatmaps = mt::task::landmark_heatmaps<>;
  heatmaps::device_batch landmarks{torch::zeros({1}), torch::zeros({2}), torch::zeros({3})};
  int count = 0;
  mt::for_each_tensor(landmarks, [&](torch::Tensor&) { ++count; });
  CHECK(count == 3);
}

TEST_CASE("cuda_graph: on a CPU device it says why once and the loop's step trains, bit-identical", "[cuda_graph]") {
  temp_dir out_graph("cuda_graph_on"), out_loop("cuda_graph_off");
  mt::trainer<tiny_recipe<mt::policy::cuda_graph<>>> graphed;
  mt::trainer<tiny_recipe<>> loop;
  quick_run(graphed, out_graph.path, 1);
  quick_run(loop, out_loop.path, 1);
  torch::manual_seed(6);
  graphed.build(dataset().landmarks);
  torch::manual_seed(6);
  loop.build(dataset().landmarks);
  std::ostringstream graph_log, loop_log;
  graphed.ctx().log = &graph_log;
  loop.ctx().log = &loop_log;
  graphed.fit(dataset().train, dataset().valid);
  loop.fit(dataset().train, dataset().valid);
  const auto log = graph_log.str();
  INFO(log);
  CHECK(log.find("note: cuda_graph: CUDA graphs need a CUDA device; the run's device is 'cpu'; the training step "
                 "runs eagerly") != std::string::npos);
  CHECK(log.find("cuda_graph:", log.find("cuda_graph:") + 1) == std::string::npos);  // said once
  CHECK(hana::at_c<0>(graphed.policies).replays() == 0);
  CHECK(graphed.ctx().global_step == 4);  // 8 images in batches of 2
  CHECK(bit_identical(snapshot(*graphed.model().ptr()), snapshot(*loop.model().ptr())));

  // --cuda_graph=false: not even the note; --cuda_graph_warmup is bounded below by 1.
  mt::trainer<tiny_recipe<mt::policy::cuda_graph<>>> off;
  CLI::App cli;
  off.emit(mt::hook::add_flags{}, cli);
  const char* argv[] = {"test", "--cuda_graph=false", "--cuda_graph_warmup", "5"};
  cli.parse(4, argv);
  CHECK_FALSE(hana::at_c<0>(off.policies).config.enabled);
  CHECK(hana::at_c<0>(off.policies).config.warmup_steps == 5);
  CLI::App strict;
  off.emit(mt::hook::add_flags{}, strict);
  const char* zero[] = {"test", "--cuda_graph_warmup", "0"};
  CHECK_THROWS_AS(strict.parse(3, zero), CLI::ValidationError);
  CHECK(hana::at_c<0>(off.policies).describe() == nlohmann::json{{"enabled", false}, {"warmup_steps", 5}});
}

}  // namespace test_run_step
