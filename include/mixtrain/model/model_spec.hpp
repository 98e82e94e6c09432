#pragma once
// What the trainer needs from a model: a spec type that names the model, states
// its output stride and builds a LibTorch module sized for the landmark set.
#include <concepts>
#include <cstdint>
#include <string_view>

#include <torch/torch.h>

namespace mixtrain::model {

struct build_options {
  std::int64_t num_landmarks = 0;
  std::int64_t in_channels = 1;  // the data pipeline delivers grayscale
};

// A model spec: `name`, `output_stride` (input pixels per heatmap pixel) and
// `build(build_options)` returning a module holder whose forward maps
// [N, in_channels, H, W] to heatmaps [N, num_landmarks, H / stride, W / stride].
template <class M>
concept model_spec = requires(const build_options& options) {
  { M::name } -> std::convertible_to<std::string_view>;
  { M::output_stride } -> std::convertible_to<int>;
  { M::build(options) };
  { M::build(options).ptr()->forward(torch::Tensor{}) } -> std::same_as<torch::Tensor>;
};

}  // namespace mixtrain::model
