#pragma once
// CUDA graphs for the training step: the C++ counterpart of the seed
// script's --use_compile. After a few eager warm-up steps, forward, loss and
// backward are captured once as a CUDA graph (at::cuda::CUDAGraph) and every
// later step is one replay: the CPU launches one graph instead of the
// thousands of kernels of HRNet's forward and backward.
//
// What the graph holds: forward, the loss and backward, writing the
// gradients into the tensors captured with it (and BatchNorm's running
// statistics in place). What it does not: the optimizer step. LibTorch's
// AdamW (and SGD) keep their step count on the host and compute the bias
// correction there, so a captured step would replay the first step's
// constants forever; the caller runs optimizer.step() eagerly after each
// replay, on the same stream, reading the graph's gradients.
//
// Rules a replayed graph imposes, each checked or stated here:
//   - fixed shapes and addresses: every step's input and target are copied
//     into static tensors made at the first step, in its memory format (a
//     different shape is refused; another memory format is converted by
//     the copy);
//   - the gradients belong to the graph: they are cleared (set to none)
//     before the capture, so the capture allocates them from its own pool
//     and each replay overwrites them (no accumulation across steps, one
//     micro-batch per optimizer step). A zero_grad() that drops them would
//     leave the optimizer without gradients: run() checks the addresses
//     before each replay and refuses;
//   - the returned loss is the graph's static tensor: the next replay
//     overwrites it (clone it to keep it);
//   - warm-up runs on the capture's side stream, as PyTorch's whole-network
//     capture does, so cuDNN's algorithm search and lazy initialisations
//     happen before the capture; autocast's weight-cast cache is off during
//     the capture so every cast is a captured kernel, never a tensor cached
//     from an eager step.
//
// Wiring into the trainer: a policy cannot replace the loop's forward and
// backward (core/hooks.hpp has no hook that owns the step), so this is a
// step runner that a program drives itself (benchmarks/gpu/gpu_step_bench.cpp,
// tests/gpu/test_gpu.cpp). A trainer policy needs a hook that runs the
// window's forward + backward in place of the loop's, e.g.
// `loss_terms run_step(auto& ctx, auto& device_batch, auto&& eager_step)`;
// docs/policies.md, "cuda_graph", proposes it.
//
// Without CUDA (MIXTRAIN_WITH_CUDA undefined: a CPU LibTorch) the runner
// still compiles and refuses at construction, naming the device; on a CPU
// device in a CUDA build it refuses the same way. It never runs eagerly in
// place of a graph without saying so.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#if defined(MIXTRAIN_WITH_CUDA) && __has_include(<ATen/cuda/CUDAGraph.h>)
#include <ATen/autocast_mode.h>
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#define MIXTRAIN_WITH_CUDA_GRAPHS 1
#endif

namespace mixtrain::policy {

inline constexpr bool cuda_graphs_built() {
#ifdef MIXTRAIN_WITH_CUDA_GRAPHS
  return true;
#else
  return false;
#endif
}

// `ForwardLoss`: `torch::Tensor(const torch::Tensor& input, const torch::Tensor& target)`,
// the scalar loss of forward + loss, opening any autocast scope itself.
template <class ForwardLoss>
class cuda_graph_step {
 public:
  cuda_graph_step(torch::Device device, std::vector<torch::Tensor> parameters, ForwardLoss forward_loss,
                  int warmup_steps = 3)
      : device_(device), parameters_(std::move(parameters)), forward_loss_(std::move(forward_loss)),
        warmup_steps_(warmup_steps) {
    if (!device.is_cuda())
      throw std::invalid_argument("cuda_graph: CUDA graphs need a CUDA device; the run's device is '" + device.str() +
                                  "'");
    if (!cuda_graphs_built())
      throw std::invalid_argument("cuda_graph: this build has no CUDA (its LibTorch has none, so MIXTRAIN_WITH_CUDA is "
                                  "not defined): the device '" + device.str() + "' cannot be captured");
    if (warmup_steps < 1) throw std::invalid_argument("cuda_graph: at least one eager warm-up step must precede the capture");
  }

  // One step's forward, loss and backward: eager while warming up, then the
  // capture (which runs nothing by itself) and a replay, then replays only.
  // The caller steps the optimizer afterwards.
  torch::Tensor run(const torch::Tensor& input, const torch::Tensor& target) {
#ifdef MIXTRAIN_WITH_CUDA_GRAPHS
    stage(input, target);
    if (steps_ < warmup_steps_) {
      ++steps_;
      return on_side_stream([&] { return eager(); });
    }
    if (!captured_) capture();
    check_gradients();
    graph_.replay();
    ++steps_;
    ++replays_;
    return static_loss_;
#else
    (void)input;
    (void)target;
    throw std::logic_error("cuda_graph: unreachable without CUDA (the constructor refuses)");
#endif
  }

  [[nodiscard]] bool captured() const { return captured_; }
  [[nodiscard]] std::int64_t replays() const { return replays_; }

 private:
#ifdef MIXTRAIN_WITH_CUDA_GRAPHS
  // The step's tensors into the static ones the graph reads.
  void stage(const torch::Tensor& input, const torch::Tensor& target) {
    if (!static_input_.defined()) {
      static_input_ = torch::empty_like(input, input.options().device(device_));  // keeps the memory format
      static_target_ = torch::empty_like(target, target.options().device(device_));
    }
    if (input.sizes() != static_input_.sizes() || target.sizes() != static_target_.sizes())
      throw std::invalid_argument("cuda_graph: a captured step needs the same input and target shapes every step");
    static_input_.copy_(input, /*non_blocking=*/true);
    static_target_.copy_(target, /*non_blocking=*/true);
  }

  torch::Tensor eager() {
    for (auto& p : parameters_) p.mutable_grad() = torch::Tensor();
    auto loss = forward_loss_(static_input_, static_target_);
    loss.backward();
    return loss.detach();
  }

  // `f` on the side stream, ordered after and before the current stream's work.
  template <class F>
  auto on_side_stream(F&& f) {
    if (!side_) side_ = c10::cuda::getStreamFromPool(false, device_.index());
    auto current = c10::cuda::getCurrentCUDAStream(device_.index());
    at::cuda::CUDAEvent before;
    before.record(current);
    before.block(*side_);
    auto result = [&] {
      c10::cuda::CUDAStreamGuard guard(*side_);
      return f();
    }();
    at::cuda::CUDAEvent after;
    after.record(*side_);
    after.block(current);
    return result;
  }

  void capture() {
    on_side_stream([&] {
      for (auto& p : parameters_) p.mutable_grad() = torch::Tensor();  // allocated by the capture, from its pool
      const bool cache = at::autocast::is_autocast_cache_enabled();
      at::autocast::set_autocast_cache_enabled(false);
      try {
        graph_.capture_begin();
        auto loss = forward_loss_(static_input_, static_target_);
        loss.backward();
        static_loss_ = loss.detach();
        graph_.capture_end();
      } catch (...) {
        at::autocast::set_autocast_cache_enabled(cache);
        throw;
      }
      at::autocast::set_autocast_cache_enabled(cache);
      return 0;
    });
    captured_grads_.clear();
    for (const auto& p : parameters_) captured_grads_.push_back(p.grad().defined() ? p.grad().data_ptr() : nullptr);
    captured_ = true;
  }

  void check_gradients() const {
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
      const auto& g = parameters_[i].grad();
      if ((g.defined() ? g.data_ptr() : nullptr) != captured_grads_[i])
        throw std::logic_error("cuda_graph: a parameter's gradient is no longer the one the graph writes (was "
                               "zero_grad() called? the captured step owns the gradients)");
    }
  }

  at::cuda::CUDAGraph graph_;
  std::optional<c10::cuda::CUDAStream> side_;
  torch::Tensor static_input_, static_target_, static_loss_;
  std::vector<void*> captured_grads_;
#endif
  torch::Device device_;
  std::vector<torch::Tensor> parameters_;
  ForwardLoss forward_loss_;
  int warmup_steps_;
  std::int64_t steps_ = 0, replays_ = 0;
  bool captured_ = false;
};

}  // namespace mixtrain::policy
