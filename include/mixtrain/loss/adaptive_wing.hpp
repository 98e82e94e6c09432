#pragma once
// Adaptive Wing loss (Wang, Bo, Fuxin, ICCV 2019) for heatmap regression:
//
//   AWing(y, p) = omega * ln(1 + |(y - p) / epsilon|^(alpha - y))   if |y - p| < theta
//               = A |y - p| - C                                      otherwise
//   A = omega / (1 + (theta/epsilon)^(alpha - y)) * (alpha - y)
//       * (theta/epsilon)^(alpha - y - 1) / epsilon
//   C = theta A - omega ln(1 + (theta/epsilon)^(alpha - y))
//
// The exponent alpha - y makes the loss behave like L1 (steep) near foreground
// pixels (y ~ 1) and like L2 (flat) on the background (y ~ 0), so small errors
// on the peak keep a useful gradient. A and C make both pieces meet smoothly.
//
// Weighted loss map (paper section 4.2): pixels inside the 3x3-dilated region
// where the target is >= 0.2 are weighted 1 + foreground_weight (paper: W = 10),
// the rest 1. The default follows the paper; `.foreground_weight = 0` gives the
// plain loss. Landmark weights behave as in heatmap_mse: weight-0 (missing)
// landmarks do not count, and the result is the mean over the counted ones of
// each landmark's per-pixel mean.
#include <string_view>

#include <torch/torch.h>

#include "mixtrain/loss/loss_spec.hpp"

namespace mixtrain::loss {

struct adaptive_wing_config {
  double omega = 14.0;
  double theta = 0.5;
  double epsilon = 1.0;
  double alpha = 2.1;
  double foreground_weight = 10.0;     // W of the weighted loss map; 0 turns it off
  double foreground_threshold = 0.2;   // target value that marks a foreground pixel
  int dilation = 3;                    // side of the square dilation window
};

template <adaptive_wing_config C = {}>
struct adaptive_wing {
  static_assert(C.omega > 0, "Adaptive Wing omega must be positive.");
  static_assert(C.theta > 0, "Adaptive Wing theta must be positive.");
  static_assert(C.epsilon > 0, "Adaptive Wing epsilon must be positive.");
  static_assert(C.alpha > 1, "Adaptive Wing alpha must exceed 1 so that alpha - y stays positive for targets in [0, 1].");
  static_assert(C.foreground_weight >= 0, "Adaptive Wing foreground_weight must not be negative.");
  static_assert(C.dilation >= 1 && C.dilation % 2 == 1, "Adaptive Wing dilation must be a positive odd window size.");

  static constexpr std::string_view name = "adaptive_wing";
  static constexpr adaptive_wing_config config = C;

  // Per-pixel loss map [B,L,h,w] without landmark weights or the foreground map.
  static torch::Tensor pixel_loss(const torch::Tensor& predicted, const torch::Tensor& target) {
    const auto y = target.to(torch::kFloat32);
    const auto diff = (y - predicted.to(torch::kFloat32)).abs();
    const auto power = C.alpha - y;
    const double ratio = C.theta / C.epsilon;
    const auto ratio_pow = torch::pow(ratio, power);
    const auto a = C.omega / (1 + ratio_pow) * power * torch::pow(ratio, power - 1) / C.epsilon;
    const auto c = C.theta * a - C.omega * torch::log1p(ratio_pow);
    const auto small = C.omega * torch::log1p((diff / C.epsilon).pow(power));
    const auto large = a * diff - c;
    return torch::where(diff < C.theta, small, large);
  }

  // 1 + W * dilate(target >= threshold); a max-pool is a binary dilation.
  static torch::Tensor foreground_map(const torch::Tensor& target) {
    namespace F = torch::nn::functional;
    torch::NoGradGuard no_grad;
    const auto fg = (target.detach() >= C.foreground_threshold).to(torch::kFloat32);
    const auto dilated = F::max_pool2d(
        fg, F::MaxPool2dFuncOptions(C.dilation).stride(1).padding(C.dilation / 2));
    return 1.0 + C.foreground_weight * dilated;
  }

  // [B, L]: each landmark's mean weighted loss over its heatmap.
  torch::Tensor per_landmark(const torch::Tensor& predicted, const torch::Tensor& target) const {
    TORCH_CHECK(predicted.dim() == 4 && predicted.sizes() == target.sizes(),
                "adaptive_wing: predicted and target must both be [B, L, h, w], got ",
                predicted.sizes(), " and ", target.sizes());
    auto map = pixel_loss(predicted, target);
    if constexpr (C.foreground_weight > 0) map = map * foreground_map(target);
    return map.mean({2, 3});
  }

  torch::Tensor operator()(const torch::Tensor& predicted, const torch::Tensor& target,
                           const torch::Tensor& weight) const {
    const auto per = per_landmark(predicted, target);
    const auto w = weight.to(per.dtype());
    return (per * w).sum() / w.sum().clamp_min(1.0);
  }
};

static_assert(loss_spec<adaptive_wing<>>);

}  // namespace mixtrain::loss
