#pragma once
// A model for tests of the decoding path: it ignores its input and returns
// precomputed heatmaps, batch after batch, in evaluation order, so whatever
// the loop does to coordinates can be checked against hand arithmetic. The
// Tag gives each test file its own heatmaps and cursor.
#include <cstdint>
#include <string_view>

#include <torch/torch.h>

#include <mixtrain/model/model_spec.hpp>

namespace mixtrain_test {

template <class Tag>
struct oracle_modelImpl : torch::nn::Module {
  explicit oracle_modelImpl(std::int64_t) { register_parameter("unused", torch::zeros({1})); }
  torch::Tensor forward(const torch::Tensor& input) {
    const auto n = input.size(0);
    auto out = heatmaps.slice(0, cursor, cursor + n).clone();
    cursor += n;
    return out;
  }
  static inline torch::Tensor heatmaps;
  static inline std::int64_t cursor = 0;
};

template <class Tag>
using oracle_model = torch::nn::ModuleHolder<oracle_modelImpl<Tag>>;

template <class Tag, int Stride>
struct oracle_spec {
  static constexpr std::string_view name = "oracle";
  static constexpr int output_stride = Stride;
  static oracle_model<Tag> build(const mixtrain::model::build_options& o) { return oracle_model<Tag>(o.num_landmarks); }
};

}  // namespace mixtrain_test
