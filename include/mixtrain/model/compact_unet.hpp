#pragma once
// A compact encoder-decoder that learns the synthetic data on two CPU cores
// within minutes: a stride-4 stem, residual stages down to 1/32 for a global
// view, and a top-down path with skip connections back to 1/4 resolution.
#include <string_view>

#include <torch/torch.h>

#include <mixtrain/core/separate_compilation.hpp>
#include <mixtrain/model/model_spec.hpp>

namespace mixtrain::model {

struct compact_unet_config {
  int width = 24;  // channels at 1/4 resolution; deeper levels double up to 4x
};

// The network for any width: not a template, so its construction and forward
// are compiled once in mixtrain_cold rather than in every recipe that uses it.
struct compact_unet_networkImpl : torch::nn::Module {
  MIXTRAIN_COLD compact_unet_networkImpl(std::int64_t width, const build_options& options);
  MIXTRAIN_COLD torch::Tensor forward(const torch::Tensor& input);

  torch::nn::Sequential stem{nullptr};
  torch::nn::ModuleList down, lateral, up;
  torch::nn::Conv2d head{nullptr};
  torch::nn::Linear class_head{nullptr};
};
TORCH_MODULE(compact_unet_network);

template <compact_unet_config C = compact_unet_config{}>
struct compact_unet {
  static_assert(C.width >= 4 && C.width % 2 == 0, "compact_unet: width must be an even number of at least 4.");
  static constexpr std::string_view name = "compact_unet";
  static constexpr int output_stride = 4;
  static constexpr bool global_class_head = true;
  using module_type = compact_unet_network;
  static module_type build(const build_options& options) { return module_type(C.width, options); }
};

}  // namespace mixtrain::model

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/model/impl/compact_unet.ipp>
#endif
