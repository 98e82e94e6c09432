#pragma once
// Definitions of the functions declared in <mixtrain/model/hrnet.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/model/hrnet.hpp>

namespace mixtrain::model {
namespace hrnet_detail {

MIXTRAIN_COLD torch::nn::Conv2d conv(std::int64_t in, std::int64_t out, std::int64_t kernel,
                                     std::int64_t stride) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

MIXTRAIN_COLD batch_norm_2d batch_norm(std::int64_t channels) {
  return batch_norm_2d(torch::nn::BatchNorm2dOptions(channels).momentum(bn_momentum));
}

MIXTRAIN_COLD conv_stack conv_bn(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride, bool relu) {
  return conv_stack(std::vector<conv_unit>{{in, out, kernel, stride, relu}}, false);
}

MIXTRAIN_COLD torch::nn::Sequential residual_layer(std::int64_t in, std::int64_t planes, int expansion,
                                                   int count) {
  torch::nn::Sequential layer;
  for (int i = 0; i < count; ++i) layer->push_back(residual_block(i == 0 ? in : planes * expansion, planes, expansion));
  return layer;
}

}  // namespace hrnet_detail
}  // namespace mixtrain::model
