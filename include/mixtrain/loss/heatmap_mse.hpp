#pragma once
// Mean squared heatmap error with per-landmark weights: a landmark with weight 0
// (missing in the annotation) contributes nothing, and the mean is taken over
// the landmarks that count, so missing ones do not dilute the loss either.
#include <string_view>

#include <torch/torch.h>

namespace mixtrain::loss {

struct heatmap_mse {
  static constexpr std::string_view name = "heatmap_mse";

  torch::Tensor operator()(const torch::Tensor& predicted, const torch::Tensor& target,
                           const torch::Tensor& weight) const {
    const auto per_landmark = (predicted.to(torch::kFloat32) - target).square().mean({2, 3});  // [B,L]
    const auto w = weight.to(per_landmark.dtype());
    return (per_landmark * w).sum() / w.sum().clamp_min(1.0);
  }
};

}  // namespace mixtrain::loss
