#pragma once
// What the trainer needs from a landmark loss.
#include <concepts>
#include <string_view>

#include <torch/torch.h>

namespace mixtrain::loss {

// A loss spec is a default-constructible callable:
//   loss(predicted [B,L,h,w], target [B,L,h,w], weight [B,L]) -> scalar tensor,
// where weight 0 marks a missing landmark that must not count.
template <class L>
concept loss_spec = std::default_initializable<L> && requires(const L& loss, const torch::Tensor& t) {
  { L::name } -> std::convertible_to<std::string_view>;
  { loss(t, t, t) } -> std::same_as<torch::Tensor>;
};

}  // namespace mixtrain::loss
