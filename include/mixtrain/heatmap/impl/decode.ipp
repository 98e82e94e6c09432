#pragma once
// Definitions of the functions declared in <mixtrain/heatmap/decode.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/heatmap/decode.hpp>

namespace mixtrain::heatmap {
namespace decode_detail {

MIXTRAIN_COLD void check_heatmaps(const torch::Tensor& heatmaps, const char* who) {
  TORCH_CHECK(heatmaps.dim() == 4, who, ": heatmaps must be [B, L, h, w], got ", heatmaps.sizes());
  TORCH_CHECK(heatmaps.size(2) > 0 && heatmaps.size(3) > 0, who, ": heatmaps must not be empty");
}

MIXTRAIN_COLD peak integer_peak(const torch::Tensor& maps) {
  const auto w = maps.size(3);
  const auto flat_index = maps.flatten(2).argmax(2);  // [B,L]
  return {flat_index.remainder(w), flat_index.div(w, "floor")};
}

MIXTRAIN_COLD torch::Tensor neighbourhood3x3(const torch::Tensor& maps, const peak& p) {
  namespace F = torch::nn::functional;
  const auto w = maps.size(3);
  const auto padded = F::pad(maps, F::PadFuncOptions({1, 1, 1, 1}).mode(torch::kReplicate));
  const auto stride = w + 2;
  const auto offsets_y = torch::tensor({-1, -1, -1, 0, 0, 0, 1, 1, 1}, p.x.options());
  const auto offsets_x = torch::tensor({-1, 0, 1, -1, 0, 1, -1, 0, 1}, p.x.options());
  const auto rows = p.y.unsqueeze(-1) + 1 + offsets_y;  // [B,L,9] in padded coordinates
  const auto cols = p.x.unsqueeze(-1) + 1 + offsets_x;
  return padded.flatten(2).gather(2, rows * stride + cols);
}

MIXTRAIN_COLD torch::Tensor axis(std::int64_t n, const torch::Tensor& like) {
  return torch::arange(n, like.options());
}

MIXTRAIN_COLD torch::Tensor gaussian_kernel1d(double sigma, const torch::TensorOptions& options) {
  const auto radius = static_cast<std::int64_t>(std::ceil(3.0 * sigma));
  const auto t = torch::arange(-radius, radius + 1, options);
  const auto k = (t.square() * (-0.5 / (sigma * sigma))).exp();
  return k / k.sum();
}

MIXTRAIN_COLD torch::Tensor gaussian_blur(const torch::Tensor& maps, double sigma) {
  namespace F = torch::nn::functional;
  const auto b = maps.size(0), l = maps.size(1), h = maps.size(2), w = maps.size(3);
  const auto k = gaussian_kernel1d(sigma, maps.options());
  const auto r = (k.size(0) - 1) / 2;
  auto x = maps.reshape({b * l, 1, h, w});
  x = F::conv2d(x, k.view({1, 1, 1, -1}), F::Conv2dFuncOptions().padding({0, r}));
  x = F::conv2d(x, k.view({1, 1, -1, 1}), F::Conv2dFuncOptions().padding({r, 0}));
  return x.view({b, l, h, w});
}

}  // namespace decode_detail
}  // namespace mixtrain::heatmap
