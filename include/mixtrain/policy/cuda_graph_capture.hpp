#pragma once
// The CUDA-graph mechanics shared by the step runner (cuda_graph_step) and
// the recipe policy (cuda_graph), both in policy/cuda_graph.hpp: a side
// stream for warm-up and capture, one capture of forward + loss + backward,
// and replays that leave the graph's gradients on the parameters.
//
// Gradients: they are cleared (set to none) before the capture, so the
// capture allocates them from the graph's private pool and every replay
// writes them there (no accumulation across replays). An optimizer's
// zero_grad() may drop them afterwards (LibTorch 2.x sets them to none) or
// zero them in place (1.13): replay() attaches the graph's tensors again
// each time, so the optimizer always steps with this replay's gradients.
//
// Warm-up and capture run on a side stream, as PyTorch's whole-network
// capture does, so cuDNN's algorithm search and lazy initialisations happen
// before the capture; autocast's weight-cast cache is off during the capture
// so every cast is a captured kernel, never a tensor cached from an eager step.
//
// Without CUDA (MIXTRAIN_WITH_CUDA undefined: a CPU LibTorch) this compiles
// and refuses at construction, naming the device, as it does for a CPU device
// in a CUDA build.
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

// Why `device` cannot be captured; empty when it can.
inline std::string cuda_graph_refusal(const torch::Device& device) {
  if (!device.is_cuda()) return "CUDA graphs need a CUDA device; the run's device is '" + device.str() + "'";
  if (!cuda_graphs_built())
    return "this build has no CUDA (its LibTorch has none, so MIXTRAIN_WITH_CUDA is not defined): the device '" +
           device.str() + "' cannot be captured";
  return {};
}

class graph_capture {
 public:
  graph_capture(torch::Device device, std::vector<torch::Tensor> parameters)
      : device_(device), parameters_(std::move(parameters)) {
    if (const auto why = cuda_graph_refusal(device); !why.empty()) throw std::invalid_argument("cuda_graph: " + why);
  }

  // `f()` on the side stream, ordered after and before the current stream's work.
  template <class F>
  auto on_side_stream(F&& f) {
#ifdef MIXTRAIN_WITH_CUDA_GRAPHS
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
#else
    return f();  // unreachable: the constructor refused
#endif
  }

  // Records `body()` (forward, loss, backward) once, running nothing; what it
  // returns are the graph's static outputs, rewritten by every replay.
  template <class F>
  auto capture(F&& body) {
    return on_side_stream([&] {
      clear_gradients();  // allocated by the capture, from its pool
#ifdef MIXTRAIN_WITH_CUDA_GRAPHS
      const bool cache = at::autocast::is_autocast_cache_enabled();
      at::autocast::set_autocast_cache_enabled(false);
      try {
        graph_.capture_begin();
        auto outputs = body();
        graph_.capture_end();
        at::autocast::set_autocast_cache_enabled(cache);
        gradients_.clear();
        for (const auto& p : parameters_) gradients_.push_back(p.grad());
        captured_ = true;
        return outputs;
      } catch (...) {
        at::autocast::set_autocast_cache_enabled(cache);
        throw;
      }
#else
      throw std::logic_error("cuda_graph: unreachable without CUDA (the constructor refuses)");
      return body();
#endif
    });
  }

  // One replay of the captured work; the parameters' gradients are the graph's again.
  void replay() {
#ifdef MIXTRAIN_WITH_CUDA_GRAPHS
    graph_.replay();
#endif
    for (std::size_t i = 0; i < gradients_.size(); ++i)
      if (gradients_[i].defined() && !parameters_[i].grad().is_same(gradients_[i]))
        parameters_[i].mutable_grad() = gradients_[i];
    ++replays_;
  }

  // Every parameter's gradient set to none (eager warm-up steps start from none too).
  void clear_gradients() {
    for (auto& p : parameters_) p.mutable_grad() = torch::Tensor();
  }

  [[nodiscard]] bool captured() const { return captured_; }
  [[nodiscard]] std::int64_t replays() const { return replays_; }
  [[nodiscard]] const torch::Device& device() const { return device_; }

 private:
#ifdef MIXTRAIN_WITH_CUDA_GRAPHS
  at::cuda::CUDAGraph graph_;
  std::optional<c10::cuda::CUDAStream> side_;
#endif
  torch::Device device_;
  std::vector<torch::Tensor> parameters_;
  std::vector<torch::Tensor> gradients_;  // the graph's, one per parameter (undefined: none written)
  std::int64_t replays_ = 0;
  bool captured_ = false;
};

}  // namespace mixtrain::policy
