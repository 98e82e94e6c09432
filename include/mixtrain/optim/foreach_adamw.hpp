#pragma once
// AdamW whose step updates every parameter of a group with multi-tensor
// (_foreach_) operations. LibTorch's AdamW::step runs about nine small ops
// per parameter tensor; on CUDA each is a kernel launch, and HRNet-W32's
// hundreds of tensors made the optimizer the bottleneck of a 1024x1024 step
// (docs/benchmarks.md, "GPU check": PyTorch's foreach AdamW trained 1.5x
// faster than our per-tensor one). The foreach ops launch a few kernels per
// group instead; on the CPU they loop over the tensors with the same ops.
//
// The arithmetic is AdamW::step's, op for op and in the same order (LibTorch
// 1.13 and 2.x agree), so on the CPU it gives the same bits. The state is
// AdamW's own (AdamWParamState, keyed like AdamW's), and so are save() and
// load(): checkpoints of either load into the other.
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <mixtrain/core/compat.hpp>

namespace mixtrain::optim {

class foreach_adamw : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;

  torch::Tensor step(LossClosure closure = nullptr) override {
    torch::NoGradGuard no_grad;
    torch::Tensor loss;
    if (closure) {
      at::AutoGradMode enable_grad(true);
      loss = closure();
    }
    for (auto& group : param_groups_) step_group(group);
    return loss;
  }

 private:
  // Tensors that share a step count share their bias corrections.
  struct bucket {
    std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs;
  };

  void step_group(torch::optim::OptimizerParamGroup& group) {
    const auto& options = static_cast<const torch::optim::AdamWOptions&>(group.options());
    if (options.amsgrad())
      throw std::invalid_argument("foreach_adamw: amsgrad is not implemented (use torch::optim::AdamW)");
    std::vector<torch::Tensor> decayed;
    std::map<std::int64_t, bucket> by_step;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      if (p.grad().is_sparse()) throw std::invalid_argument("foreach_adamw: sparse gradients are not supported");
      decayed.push_back(p);
      auto& state = state_of(p);
      state.step(state.step() + 1);
      auto& b = by_step[state.step()];
      b.params.push_back(p);
      b.grads.push_back(p.grad());
      b.exp_avgs.push_back(state.exp_avg());
      b.exp_avg_sqs.push_back(state.exp_avg_sq());
    }
    if (decayed.empty()) return;
    // Decoupled weight decay first, as AdamW::step does before the moments.
    if (options.weight_decay() != 0) at::_foreach_mul_(decayed, c10::Scalar(1 - options.lr() * options.weight_decay()));
    const auto [beta1, beta2] = options.betas();
    for (auto& [count, b] : by_step) {
      const double correction1 = 1 - std::pow(beta1, static_cast<double>(count));
      const double correction2 = 1 - std::pow(beta2, static_cast<double>(count));
      at::_foreach_mul_(b.exp_avgs, c10::Scalar(beta1));
      at::_foreach_add_(b.exp_avgs, b.grads, c10::Scalar(1 - beta1));
      at::_foreach_mul_(b.exp_avg_sqs, c10::Scalar(beta2));
      at::_foreach_addcmul_(b.exp_avg_sqs, b.grads, b.grads, c10::Scalar(1 - beta2));
      auto denominators = at::_foreach_sqrt(b.exp_avg_sqs);
      at::_foreach_div_(denominators, c10::Scalar(std::sqrt(correction2)));
      at::_foreach_add_(denominators, c10::Scalar(options.eps()));
      at::_foreach_addcdiv_(b.params, b.exp_avgs, denominators, c10::Scalar(-options.lr() / correction1));
    }
  }

  torch::optim::AdamWParamState& state_of(const torch::Tensor& p) {
    auto key = compat::optimizer_state_key(p);  // AdamW's key: save() and load() see the same state
    auto found = state_.find(key);
    if (found == state_.end()) {
      auto fresh = std::make_unique<torch::optim::AdamWParamState>();
      fresh->step(0);
      fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
      fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
      found = state_.emplace(key, std::move(fresh)).first;
    }
    return static_cast<torch::optim::AdamWParamState&>(*found->second);
  }
};

}  // namespace mixtrain::optim
