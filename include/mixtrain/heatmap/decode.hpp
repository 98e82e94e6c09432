#pragma once
// Heatmap decoders (see decoder_spec.hpp): heatmaps [B,L,h,w] -> (x, y) [B,L,2]
// in heatmap pixels, where the centre of pixel (i, j) is (j, i).
//
//   argmax       integer peak plus the classic quarter-pixel shift toward the
//                higher neighbour (Newell et al. 2016): halves the worst-case
//                quantisation error of the bare peak at no cost.
//   dark         DARK (Zhang et al. CVPR 2020): blur with the target sigma, take
//                the log and solve the second-order Taylor expansion at the peak.
//   soft_argmax  expectation of softmax(beta * heatmap) (integral regression);
//                differentiable, so it can also feed a coordinate loss.
//
// All are batched torch ops: the only per-pixel work is the argmax/softmax over
// the map and a gather of the 3x3 neighbourhood of each peak.
#include <cmath>
#include <cstdint>
#include <string_view>

#include <torch/torch.h>

#include "mixtrain/heatmap/decoder_spec.hpp"
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::heatmap {

namespace decode_detail {

MIXTRAIN_COLD void check_heatmaps(const torch::Tensor& heatmaps, const char* who);

struct peak {
  torch::Tensor x;  // [B,L] int64 column of the maximum
  torch::Tensor y;  // [B,L] int64 row of the maximum
};

MIXTRAIN_COLD peak integer_peak(const torch::Tensor& maps);

// Values of the 3x3 neighbourhood around each peak: [B,L,9] in row-major order
// (dy, dx) in {-1,0,1}^2. The map is edge-padded by one pixel so border peaks
// gather valid (replicated) values instead of going out of range.
MIXTRAIN_COLD torch::Tensor neighbourhood3x3(const torch::Tensor& maps, const peak& p);

// Pixel-centre coordinate grids for expectations: [w] and [h].
MIXTRAIN_COLD torch::Tensor axis(std::int64_t n, const torch::Tensor& like);

// Normalised 1-D Gaussian kernel covering +-3 sigma.
MIXTRAIN_COLD torch::Tensor gaussian_kernel1d(double sigma, const torch::TensorOptions& options);

// Separable Gaussian blur of each map of [B,L,h,w] with zero padding, as in
// the DARK reference (outside the map there is no evidence of a peak).
MIXTRAIN_COLD torch::Tensor gaussian_blur(const torch::Tensor& maps, double sigma);

}  // namespace decode_detail

struct argmax {
  static constexpr std::string_view name = "argmax";

  MIXTRAIN_COLD static torch::Tensor decode(const torch::Tensor& heatmaps, double /*sigma*/);
};

struct dark {
  static constexpr std::string_view name = "dark";

  MIXTRAIN_COLD static torch::Tensor decode(const torch::Tensor& heatmaps, double sigma);
};

struct soft_argmax_config {
  // Sharpness of softmax(beta * heatmap). For maps with peak ~1 on a zero
  // background the peak must outweigh thousands of background pixels (beta
  // below ~12 drifts toward the map centre on 64x64), while a large beta
  // shrinks the peak below a pixel and biases toward the integer peak. 18 gave
  // the smallest error (< 0.04 px) on sigma-2 Gaussians in 64x64 maps.
  double beta = 18.0;
};

template <soft_argmax_config C = {}>
struct soft_argmax {
  static_assert(C.beta > 0, "soft_argmax beta must be positive.");
  static constexpr std::string_view name = "soft_argmax";
  static constexpr double beta = C.beta;

  static torch::Tensor decode(const torch::Tensor& heatmaps, double /*sigma*/) {
    decode_detail::check_heatmaps(heatmaps, "soft_argmax");
    const auto dtype = heatmaps.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
    const auto maps = heatmaps.to(dtype);
    const auto h = maps.size(2), w = maps.size(3);
    const auto prob = torch::softmax(maps.flatten(2) * beta, 2).view(maps.sizes());
    const auto x = (prob.sum(2) * decode_detail::axis(w, maps)).sum(2);  // marginal over rows
    const auto y = (prob.sum(3) * decode_detail::axis(h, maps)).sum(2);  // marginal over columns
    return torch::stack({x, y}, 2).to(torch::kFloat32);
  }
};

static_assert(decoder_spec<argmax>);
static_assert(decoder_spec<dark>);
static_assert(decoder_spec<soft_argmax<>>);

}  // namespace mixtrain::heatmap

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/heatmap/impl/decode.ipp>
#endif
