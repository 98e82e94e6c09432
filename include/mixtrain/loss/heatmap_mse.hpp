#pragma once
// Mean squared heatmap error with per-landmark weights: a landmark with weight 0
// (missing in the annotation) contributes nothing, and the mean is taken over
// the landmarks that count, so missing ones do not dilute the loss either.
#include <string_view>

#include <torch/torch.h>

namespace mixtrain::loss {

struct heatmap_mse {
  static constexpr std::string_view name = "heatmap_mse";

  // [B, L]: each landmark's mean squared error over its heatmap.
  torch::Tensor per_landmark(const torch::Tensor& predicted, const torch::Tensor& target) const {
    return (predicted.to(torch::kFloat32) - target).square().mean({2, 3});
  }

  torch::Tensor operator()(const torch::Tensor& predicted, const torch::Tensor& target,
                           const torch::Tensor& weight) const {
    const auto per = per_landmark(predicted, target);
    const auto w = weight.to(per.dtype());
    return (per * w).sum() / w.sum().clamp_min(1.0);
  }
};

}  // namespace mixtrain::loss
