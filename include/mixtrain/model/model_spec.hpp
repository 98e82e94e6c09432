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
  // Per-image class logits from a global head on the deepest features, as
  // planes after the heatmaps (each plane constant over the image), for a
  // model that declares `static constexpr bool global_class_head = true`.
  std::int64_t image_classes = 0;
};

// A model spec with a global class head (see build_options::image_classes).
template <class M>
inline constexpr bool has_global_class_head = requires { requires M::global_class_head; };

// Per-image logits [B, C] as C planes [B, C, h, w] beside dense output
// `beside` ([B, *, h, w]); undefined `beside` gives the planes alone.
inline torch::Tensor append_class_planes(const torch::Tensor& beside, const torch::Tensor& logits, std::int64_t h,
                                         std::int64_t w) {
  auto planes = logits.view({logits.size(0), logits.size(1), 1, 1}).expand({logits.size(0), logits.size(1), h, w});
  return beside.defined() ? torch::cat({beside, planes}, 1) : planes.contiguous();
}

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
