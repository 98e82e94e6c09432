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

MIXTRAIN_COLD torch::Tensor argmax::decode(const torch::Tensor& heatmaps, double /*sigma*/) {
  decode_detail::check_heatmaps(heatmaps, "argmax");
  torch::NoGradGuard no_grad;
  const auto maps = heatmaps.detach().to(torch::kFloat32);
  const auto p = decode_detail::integer_peak(maps);
  const auto n = decode_detail::neighbourhood3x3(maps, p);
  // Sign of the difference between the right/left (lower/upper) neighbours;
  // no shift on a border row/column, where one neighbour is missing.
  const auto w = maps.size(3), h = maps.size(2);
  const auto inner_x = ((p.x > 0) & (p.x < w - 1)).to(torch::kFloat32);
  const auto inner_y = ((p.y > 0) & (p.y < h - 1)).to(torch::kFloat32);
  const auto shift_x = 0.25 * inner_x * (n.select(2, 5) - n.select(2, 3)).sign();
  const auto shift_y = 0.25 * inner_y * (n.select(2, 7) - n.select(2, 1)).sign();
  return torch::stack({p.x.to(torch::kFloat32) + shift_x, p.y.to(torch::kFloat32) + shift_y}, 2);
}

MIXTRAIN_COLD torch::Tensor dark::decode(const torch::Tensor& heatmaps, double sigma) {
  decode_detail::check_heatmaps(heatmaps, "dark");
  TORCH_CHECK(sigma > 0, "dark: sigma must be positive (the target Gaussian sigma)");
  torch::NoGradGuard no_grad;
  // float64: the log of the Gaussian tail and the finite differences lose
  // precision in float32 exactly where sub-pixel accuracy is decided.
  const auto raw = heatmaps.detach().to(torch::kFloat64);
  // Expansion point: the raw map's peak, as in the reference. (The blurred
  // map's peak drifts inward at the border, where zero padding darkens it.)
  const auto p = decode_detail::integer_peak(raw);

  // Modulation: blurring suppresses the multiple small peaks of real network
  // output; rescaling keeps each map's maximum as before (as in the paper).
  auto blurred = decode_detail::gaussian_blur(raw, sigma);
  const auto raw_max = raw.flatten(2).amax(2).clamp_min(0.0);
  const auto blurred_max = blurred.flatten(2).amax(2).clamp_min(1e-12);
  blurred = blurred * (raw_max / blurred_max).unsqueeze(-1).unsqueeze(-1);
  const auto log_map = blurred.clamp_min(1e-10).log();

  const auto n = decode_detail::neighbourhood3x3(log_map, p);
  auto at = [&](int index) { return n.select(2, index); };
  // Central differences with step 1: exact for the quadratic a log-Gaussian is.
  const auto gx = 0.5 * (at(5) - at(3));
  const auto gy = 0.5 * (at(7) - at(1));
  const auto hxx = at(5) - 2.0 * at(4) + at(3);
  const auto hyy = at(7) - 2.0 * at(4) + at(1);
  const auto hxy = 0.25 * (at(8) - at(6) - at(2) + at(0));
  const auto det = hxx * hyy - hxy * hxy;

  // offset = -H^{-1} g with the closed-form 2x2 inverse.
  auto dx = -(hyy * gx - hxy * gy) / det;
  auto dy = -(-hxy * gx + hxx * gy) / det;

  // Only trust the expansion at a proper interior maximum (H negative
  // definite, not near-singular); elsewhere keep the integer peak. The true
  // maximum of a unimodal peak lies within a pixel of the integer one.
  const auto w = raw.size(3), h = raw.size(2);
  const auto interior = (p.x > 0) & (p.x < w - 1) & (p.y > 0) & (p.y < h - 1);
  const auto usable = interior & (hxx < 0) & (det > 1e-12) & dx.isfinite() & dy.isfinite();
  dx = torch::where(usable, dx.clamp(-1.0, 1.0), torch::zeros_like(dx));
  dy = torch::where(usable, dy.clamp(-1.0, 1.0), torch::zeros_like(dy));
  return torch::stack({p.x.to(torch::kFloat64) + dx, p.y.to(torch::kFloat64) + dy}, 2)
      .to(torch::kFloat32);
}

}  // namespace mixtrain::heatmap
