#pragma once
// What the trainer needs from a heatmap decoder.
#include <concepts>
#include <string_view>

#include <torch/torch.h>

namespace mixtrain::heatmap {

// A decoder spec turns heatmaps [B,L,h,w] into coordinates [B,L,2] (x, y) in
// heatmap pixels, where the centre of pixel (i, j) is (j, i). `sigma` is the
// Gaussian sigma the targets were rendered with (decoders may ignore it).
template <class D>
concept decoder_spec = requires(const torch::Tensor& heatmaps, double sigma) {
  { D::name } -> std::convertible_to<std::string_view>;
  { D::decode(heatmaps, sigma) } -> std::same_as<torch::Tensor>;
};

}  // namespace mixtrain::heatmap
