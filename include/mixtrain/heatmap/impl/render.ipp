#pragma once
// Definitions of the functions declared in <mixtrain/heatmap/render.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/heatmap/render.hpp>

namespace mixtrain::heatmap {

MIXTRAIN_COLD torch::Tensor render_gaussian(const torch::Tensor& coords, std::int64_t height,
                                          std::int64_t width, double sigma) {
  TORCH_CHECK(coords.dim() == 3 && coords.size(2) == 2, "render_gaussian: coords must be [B, L, 2]");
  TORCH_CHECK(sigma > 0, "render_gaussian: sigma must be positive");
  const auto options = coords.options().dtype(torch::kFloat32);
  const auto c = coords.to(torch::kFloat32);
  const auto xs = torch::arange(width, options).view({1, 1, width});
  const auto ys = torch::arange(height, options).view({1, 1, height});
  const double inv = -0.5 / (sigma * sigma);
  const auto gx = ((xs - c.select(2, 0).unsqueeze(-1)).square() * inv).exp();  // [B,L,W]
  const auto gy = ((ys - c.select(2, 1).unsqueeze(-1)).square() * inv).exp();  // [B,L,H]
  return gy.unsqueeze(-1) * gx.unsqueeze(-2);
}

}  // namespace mixtrain::heatmap
