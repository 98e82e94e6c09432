#pragma once
// CUDA graphs for the training step: the C++ counterpart of the seed
// script's --use_compile. After a few eager warm-up steps, forward, loss and
// backward are captured once as a CUDA graph (at::cuda::CUDAGraph) and every
// later step is one replay: the CPU launches one graph instead of the
// thousands of kernels of HRNet's forward and backward.
//
//   cuda_graph<{...}>   the recipe policy: owns the trainer's step through
//                       the run_step hook (core/hooks.hpp)
//   cuda_graph_step     the same for a program that drives its own step
//                       (benchmarks/gpu/gpu_step_bench.cpp, tests/gpu)
//
// What the graph holds: forward, the loss and backward, writing the
// gradients into tensors of the graph's own pool (and BatchNorm's running
// statistics in place). What it does not: the optimizer step. LibTorch's
// AdamW (and SGD) keep their step count on the host and compute the bias
// correction there, so a captured step would replay the first step's
// constants forever; the optimizer steps eagerly after each replay, on the
// same stream, reading the graph's gradients (policy/cuda_graph_capture.hpp).
//
// Rules a replayed graph imposes:
//   - fixed shapes and addresses: every step's tensors are copied into
//     static ones made at the first step, in its memory format. The runner
//     refuses another shape; the policy runs such a step (a short last
//     batch) eagerly and counts it;
//   - one micro-batch per optimizer step: the graph overwrites the gradients,
//     so the policy runs accumulation windows eagerly (and says so once);
//   - no host values inside the step: amp<fp16>'s loss scale is one, so the
//     policy does not compile with loss scaling (use amp<bf16>), nor with
//     the distributed policy's all-reduce hooks, which would run inside the
//     capture;
//   - the returned loss is the graph's static tensor: the runner returns it
//     (the next replay overwrites it), the policy returns a copy.
#include <any>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/fields.hpp>
#include <mixtrain/core/flag_set.hpp>
#include <mixtrain/core/hooks.hpp>
#include <mixtrain/core/tensor_fields.hpp>
#include <mixtrain/policy/cuda_graph_capture.hpp>

namespace mixtrain::policy {

// `ForwardLoss`: `torch::Tensor(const torch::Tensor& input, const torch::Tensor& target)`,
// the scalar loss of forward + loss, opening any autocast scope itself.
template <class ForwardLoss>
class cuda_graph_step {
 public:
  cuda_graph_step(torch::Device device, std::vector<torch::Tensor> parameters, ForwardLoss forward_loss,
                  int warmup_steps = 3)
      : capture_(device, std::move(parameters)), forward_loss_(std::move(forward_loss)), warmup_steps_(warmup_steps) {
    if (warmup_steps < 1) throw std::invalid_argument("cuda_graph: at least one eager warm-up step must precede the capture");
  }

  // One step's forward, loss and backward: eager while warming up, then the
  // capture (which runs nothing by itself) and a replay, then replays only.
  // The caller steps the optimizer afterwards.
  torch::Tensor run(const torch::Tensor& input, const torch::Tensor& target) {
    stage(input, target);
    if (steps_ < warmup_steps_) {
      ++steps_;
      return capture_.on_side_stream([&] {
        capture_.clear_gradients();
        return forward_backward();
      });
    }
    if (!capture_.captured()) static_loss_ = capture_.capture([&] { return forward_backward(); });
    capture_.replay();
    ++steps_;
    return static_loss_;
  }

  [[nodiscard]] bool captured() const { return capture_.captured(); }
  [[nodiscard]] std::int64_t replays() const { return capture_.replays(); }

 private:
  // The step's tensors into the static ones the graph reads.
  void stage(const torch::Tensor& input, const torch::Tensor& target) {
    if (!static_input_.defined()) {
      static_input_ = torch::empty_like(input, input.options().device(capture_.device()));  // keeps the memory format
      static_target_ = torch::empty_like(target, target.options().device(capture_.device()));
    }
    if (input.sizes() != static_input_.sizes() || target.sizes() != static_target_.sizes())
      throw std::invalid_argument("cuda_graph: a captured step needs the same input and target shapes every step");
    static_input_.copy_(input, /*non_blocking=*/true);
    static_target_.copy_(target, /*non_blocking=*/true);
  }

  torch::Tensor forward_backward() {
    auto loss = forward_loss_(static_input_, static_target_);
    loss.backward();
    return loss.detach();
  }

  graph_capture capture_;
  ForwardLoss forward_loss_;
  int warmup_steps_;
  std::int64_t steps_ = 0;
  torch::Tensor static_input_, static_target_, static_loss_;
};

struct cuda_graph_config {
  bool enabled = true;
  int warmup_steps = 3;  // eager steps before the capture (cuDNN's algorithm search, lazy initialisation)

  static constexpr auto fields() {
    using c = cuda_graph_config;
    return std::tuple{field{&c::enabled, "enabled",
                            flag{"--cuda_graph", "capture the training step as a CUDA graph after warm-up (CUDA only; "
                                                 "=false: eager)"}},
                      field{&c::warmup_steps, "warmup_steps",
                            flag{"--cuda_graph_warmup", "eager training steps before the CUDA graph capture", 1}}};
  }
};

// The recipe policy: mt::policy::cuda_graph<> (or <{.enabled = false}>, for
// --cuda_graph to switch on). Where the step cannot be captured (a CPU
// device, a build without CUDA, accumulation windows) it logs why once and
// the loop's own step runs: nothing else changes.
template <cuda_graph_config C = cuda_graph_config{}>
struct cuda_graph {
  static_assert(C.warmup_steps >= 1, "cuda_graph: at least one eager warm-up step must precede the capture.");
  static constexpr std::string_view name = "cuda_graph";
  static constexpr std::string_view exclusive = "cuda_graph";
  using config_type = cuda_graph_config;

  config_type config = C;

  void add_flags(flag_set cli) { add_field_flags(cli, config); }
  [[nodiscard]] nlohmann::json describe() const { return describe_fields(config); }

  void on_fit_begin(auto& ctx) {
    state_.reset();
    if (!config.enabled) return;
    std::string why = cuda_graph_refusal(ctx.device);
    if (why.empty() && ctx.updates_per_epoch < ctx.batches_per_epoch)
      why = "gradient accumulation: the graph overwrites the gradients at every replay, so a window of several "
            "micro-batches cannot be captured";
    if (!why.empty()) {
      *ctx.log << "note: cuda_graph: " << why << "; the training step runs eagerly\n";
      return;
    }
    state_ = std::make_unique<state>(ctx.device, ctx.parameters());
  }

  template <class DeviceBatch, class Eager>
  step_outcome run_step(auto& ctx, DeviceBatch& batch, Eager& eager) {
    static_assert(!Eager::scales_loss,
                  "cuda_graph: loss scaling (amp<fp16>) multiplies the loss by a host value that the captured graph "
                  "would freeze; use amp<bf16>, which needs no scaling");
    static_assert(!Eager::synchronised,
                  "cuda_graph: the distributed policy's gradient all-reduce would run inside the capture; a "
                  "data-parallel recipe trains eagerly (leave cuda_graph out)");
    if (!state_ || ctx.window_length > 1) return eager(batch);
    auto& s = *state_;
    auto* fixed = std::any_cast<DeviceBatch>(&s.static_batch);
    if (fixed == nullptr) fixed = &s.static_batch.template emplace<DeviceBatch>(empty_like_batch(batch));
    if (!same_shapes(*fixed, batch)) {
      ++s.eager_steps;  // e.g. the short last batch of an epoch
      return eager(batch);
    }
    for_each_tensor_pair(*fixed, batch, [](torch::Tensor& to, const torch::Tensor& from) {
      if (to.defined()) to.copy_(from, /*non_blocking=*/true);
    });
    if (s.warmed < config.warmup_steps) {
      ++s.warmed;
      return s.capture.on_side_stream([&] { return eager(*fixed); });
    }
    if (!s.capture.captured())
      s.outputs = s.capture.capture([&] {
        const auto out = eager(*fixed);
        return step_outcome{out.loss.detach(), out.count};
      });
    s.capture.replay();
    return {s.outputs.loss.clone(), s.outputs.count.clone()};  // the next replay overwrites the graph's own
  }

  void on_fit_end(auto& ctx) {
    if (!state_) return;
    *ctx.log << "cuda_graph: " << (state_->capture.captured() ? "captured" : "not captured") << " after "
             << state_->warmed << " eager warm-up steps; " << state_->capture.replays() << " replays, "
             << state_->eager_steps << " eager steps of other batch shapes\n";
    state_.reset();  // the graph's memory pool goes with it
  }

  // The fit's replays so far (0 without a capture).
  [[nodiscard]] std::int64_t replays() const { return state_ ? state_->capture.replays() : 0; }

 private:
  template <class DeviceBatch>
  static DeviceBatch empty_like_batch(const DeviceBatch& batch) {
    DeviceBatch copy = batch;
    for_each_tensor(copy, [](torch::Tensor& t) {
      if (t.defined()) t = torch::empty_like(t);  // keeps the device and memory format
    });
    return copy;
  }
  template <class DeviceBatch>
  static bool same_shapes(DeviceBatch& fixed, const DeviceBatch& batch) {
    bool same = true;
    for_each_tensor_pair(fixed, batch, [&](const torch::Tensor& a, const torch::Tensor& b) {
      same = same && a.defined() == b.defined() &&
             (!a.defined() || (a.sizes() == b.sizes() && a.scalar_type() == b.scalar_type()));
    });
    return same;
  }

  struct state {
    state(torch::Device device, std::vector<torch::Tensor> parameters) : capture(device, std::move(parameters)) {}
    graph_capture capture;
    std::any static_batch;  // the task's device batch that the graph reads
    step_outcome outputs;   // the graph's loss and count
    int warmed = 0;
    std::int64_t eager_steps = 0;
  };
  std::unique_ptr<state> state_;  // during a fit that captures; the graph and its pool are not copied
};

}  // namespace mixtrain::policy
