#pragma once
// Gaussian heatmap targets, rendered batched on the training device at heatmap
// resolution from landmark coordinates: no full-resolution float heatmap ever
// exists in host memory.
#include <cstdint>

#include <torch/torch.h>

#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::heatmap {

// coords: [B, L, 2] (x, y) in heatmap pixels (pixel (i, j) has centre (j, i)).
// Returns [B, L, height, width] with peak value 1 at each coordinate. The
// Gaussian is separable, so it is built as an outer product of two 1-D rows.
MIXTRAIN_COLD torch::Tensor render_gaussian(const torch::Tensor& coords, std::int64_t height,
                                          std::int64_t width, double sigma);

}  // namespace mixtrain::heatmap

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/heatmap/impl/render.ipp>
#endif
