// expect: landmark_heatmaps: the loss must be a heatmap loss spec
#include "bad_recipe.hpp"
namespace user {
struct l1 {
  static constexpr std::string_view name = "l1";
  torch::Tensor operator()(const torch::Tensor& a, const torch::Tensor& b) const { return (a - b).abs().mean(); }
};
}  // namespace user
using recipe = mt::recipe<mt::model::compact_unet<{.width = 8}>, mt::data::aariz<{.image_size = {64, 64}}>,
                          mt::task::landmark_heatmaps<{}, user::l1>, mt::optim::adamw<>>;
int main() { return instantiate<recipe>(); }
