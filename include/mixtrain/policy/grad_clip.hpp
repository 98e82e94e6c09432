#pragma once
// Gradient clipping by total norm (torch.nn.utils.clip_grad_norm_): when the
// norm over all gradients exceeds max_norm, all are scaled by
// max_norm / norm. It runs in before_optimizer_step, which the trainer raises
// after unscale_gradients, so with amp<fp16> it clips the true (unscaled)
// gradients whatever the order of the two policies in the recipe.
#include <string_view>
#include <tuple>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/fields.hpp>
#include <mixtrain/core/flag_set.hpp>

namespace mixtrain::policy {

struct grad_clip_config {
  double max_norm = 1.0;  // 0 turns clipping off
  double norm_type = 2.0;

  static constexpr auto fields() {
    return std::tuple{field{&grad_clip_config::max_norm, "max_norm",
                            flag{"--clip_grad_norm", "clip gradients to this total norm (0: off)", 0}},
                      field{&grad_clip_config::norm_type, "norm_type"}};
  }
};

template <grad_clip_config C = grad_clip_config{}>
struct grad_clip {
  static_assert(C.max_norm >= 0, "grad_clip: max_norm must not be negative (0 turns clipping off).");
  static_assert(C.norm_type > 0, "grad_clip: norm_type must be positive.");
  static constexpr std::string_view name = "grad_clip";
  static constexpr std::string_view exclusive = "grad_clip";
  using config_type = grad_clip_config;

  config_type config = C;

  void add_flags(flag_set cli) { add_field_flags(cli, config); }
  [[nodiscard]] nlohmann::json describe() const { return describe_fields(config); }

  // The total norm is kept on the device: no read-back per step.
  bool before_optimizer_step(auto& ctx) {
    if (config.max_norm > 0)
      last_norm_ = clip(ctx.parameters());
    return true;
  }

  // The total norm before clipping, at the latest window end.
  [[nodiscard]] double last_norm() const { return last_norm_.defined() ? last_norm_.template item<double>() : 0.0; }

 private:
  // clip_grad_norm_ as in torch.nn.utils, without its .item() sync.
  torch::Tensor clip(const std::vector<torch::Tensor>& parameters) const {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> norms;
    for (const auto& p : parameters)
      if (p.grad().defined()) norms.push_back(p.grad().norm(config.norm_type));
    if (norms.empty()) return torch::zeros({});
    const auto total = torch::stack(norms).norm(config.norm_type);
    const auto factor = (config.max_norm / (total + 1e-6)).clamp_max(1.0);
    for (const auto& p : parameters)
      if (p.grad().defined()) p.grad().mul_(factor);
    return total;
  }

  torch::Tensor last_norm_;
};

}  // namespace mixtrain::policy
