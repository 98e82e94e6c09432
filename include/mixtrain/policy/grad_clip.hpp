#pragma once
// Gradient clipping by total norm (torch.nn.utils.clip_grad_norm_): when the
// norm over all gradients exceeds max_norm, all are scaled by
// max_norm / norm. It runs in before_optimizer_step, which the trainer raises
// after unscale_gradients, so with amp<fp16> it clips the true (unscaled)
// gradients whatever the order of the two policies in the recipe.
#include <string_view>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/context.hpp>
#include <mixtrain/core/recipe.hpp>
#include <mixtrain/policy/common.hpp>

namespace mixtrain::policy {

struct grad_clip_config {
  double max_norm = 1.0;  // 0 turns clipping off
  double norm_type = 2.0;
};

template <grad_clip_config C = grad_clip_config{}>
struct grad_clip {
  static_assert(C.max_norm >= 0, "grad_clip: max_norm must not be negative (0 turns clipping off).");
  static_assert(C.norm_type > 0, "grad_clip: norm_type must be positive.");
  static constexpr policy_kind kind = policy_kind::grad_clip;
  static constexpr std::string_view name = "grad_clip";

  grad_clip_config config = C;

  void add_flags(CLI::App& cli) {
    cli.add_option("--clip_grad_norm", config.max_norm, "clip gradients to this total norm (0: off)")
        ->check(at_least(0));
  }

  [[nodiscard]] nlohmann::json describe() const {
    return {{"max_norm", config.max_norm}, {"norm_type", config.norm_type}};
  }

  bool before_optimizer_step(context& ctx) {
    if (config.max_norm > 0)
      last_norm_ = torch::nn::utils::clip_grad_norm_(ctx.model.parameters(), config.max_norm, config.norm_type);
    return true;
  }

  // The total norm before clipping, at the latest window end.
  [[nodiscard]] double last_norm() const { return last_norm_; }

 private:
  double last_norm_ = 0;
};

}  // namespace mixtrain::policy
