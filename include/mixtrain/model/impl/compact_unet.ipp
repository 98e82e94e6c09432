#pragma once
// Definitions of the functions declared in <mixtrain/model/compact_unet.hpp>: included at its
// end (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/model/batch_norm.hpp>
#include <mixtrain/model/compact_unet.hpp>

namespace mixtrain::model {

namespace detail {

// Blocks used only here, so they need no header of their own.
struct conv_bn_reluImpl : torch::nn::Module {
  conv_bn_reluImpl(std::int64_t in, std::int64_t out, std::int64_t stride)
      : conv(register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false)))),
        norm(register_module("norm", batch_norm_2d(out))) {}
  torch::Tensor forward(const torch::Tensor& x) { return torch::relu(norm(conv(x))); }
  torch::nn::Conv2d conv;
  batch_norm_2d norm;
};
TORCH_MODULE(conv_bn_relu);

struct residual_pairImpl : torch::nn::Module {
  explicit residual_pairImpl(std::int64_t channels)
      : first(register_module("first", conv_bn_relu(channels, channels, 1))),
        second(register_module("second", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 3).padding(1).bias(false)))),
        norm(register_module("norm", batch_norm_2d(channels))) {}
  torch::Tensor forward(const torch::Tensor& x) { return torch::relu(x + norm(second(first(x)))); }
  conv_bn_relu first;
  torch::nn::Conv2d second;
  batch_norm_2d norm;
};
TORCH_MODULE(residual_pair);

}  // namespace detail

MIXTRAIN_COLD compact_unet_networkImpl::compact_unet_networkImpl(std::int64_t width, const build_options& options) {
  const std::int64_t w = width;
  const std::int64_t widths[4] = {w, 2 * w, 4 * w, 4 * w};  // 1/4, 1/8, 1/16, 1/32
  stem = register_module("stem", torch::nn::Sequential(detail::conv_bn_relu(options.in_channels, w / 2, 2),
                                                       detail::conv_bn_relu(w / 2, w, 2)));
  for (int level = 0; level < 4; ++level) {
    auto stage = torch::nn::Sequential();
    if (level > 0) stage->push_back(detail::conv_bn_relu(widths[level - 1], widths[level], 2));
    stage->push_back(detail::residual_pair(widths[level]));
    down->push_back(stage);
  }
  for (int level = 3; level > 0; --level) {
    lateral->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(widths[level], widths[level - 1], 1)));
    up->push_back(detail::conv_bn_relu(widths[level - 1], widths[level - 1], 1));
  }
  register_module("down", down);
  register_module("lateral", lateral);
  register_module("up", up);
  if (options.num_landmarks > 0)
    head = register_module("head", torch::nn::Conv2d(torch::nn::Conv2dOptions(w, options.num_landmarks, 1)));
  if (options.image_classes > 0)  // from the 1/32 level: the whole head in view, away from the heatmap decoder
    class_head = register_module("class_head", torch::nn::Linear(widths[3], options.image_classes));
}

MIXTRAIN_COLD torch::Tensor compact_unet_networkImpl::forward(const torch::Tensor& input) {
  std::vector<torch::Tensor> levels;
  auto x = stem->forward(input);
  for (std::size_t i = 0; i < down->size(); ++i) {
    x = down[i]->as<torch::nn::Sequential>()->forward(x);
    levels.push_back(x);
  }
  for (std::size_t i = 0; i < up->size(); ++i) {
    const auto& skip = levels[levels.size() - 2 - i];
    x = torch::nn::functional::interpolate(
        lateral[i]->as<torch::nn::Conv2d>()->forward(x),
        torch::nn::functional::InterpolateFuncOptions().size(std::vector<std::int64_t>{skip.size(2), skip.size(3)}).mode(torch::kNearest));
    x = up[i]->as<detail::conv_bn_relu>()->forward(x + skip);
  }
  auto out = head ? head(x) : torch::Tensor();
  if (!class_head) return out;
  return append_class_planes(out, class_head(levels.back().mean({2, 3})), x.size(2), x.size(3));
}

}  // namespace mixtrain::model
