#pragma once
// What the trainer needs from a landmark loss.
#include <concepts>
#include <string_view>

#include <torch/torch.h>

namespace mixtrain::loss {

// A heatmap loss spec is default-constructible and gives each landmark's loss:
//   loss.per_landmark(predicted [B,L,h,w], target [B,L,h,w]) -> [B,L];
// the task weights it (0 marks a missing landmark) and normalises by the
// landmarks present in the whole accumulation window. loss(p, t, weight) is
// that weighted mean for one batch.
template <class L>
concept loss_spec = std::default_initializable<L> && requires(const L& loss, const torch::Tensor& t) {
  { L::name } -> std::convertible_to<std::string_view>;
  { loss.per_landmark(t, t) } -> std::same_as<torch::Tensor>;
  { loss(t, t, t) } -> std::same_as<torch::Tensor>;
};

}  // namespace mixtrain::loss
