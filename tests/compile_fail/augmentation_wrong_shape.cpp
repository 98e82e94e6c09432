// expect: check_augmentation<user::blur>.*augmentation: needs one of
// apply() without the random generator meets none of the three shapes.
#include "bad_recipe.hpp"
namespace user {
struct blur {
  static constexpr std::string_view name = "blur";
  void apply(cv::Mat& image) const { (void)image; }
};
}  // namespace user
using recipe = mt::recipe<mt::model::compact_unet<{.width = 8}>, mt::data::aariz<{.image_size = {64, 64}}, user::blur>,
                          mt::task::landmark_heatmaps<>, mt::optim::adamw<>>;
int main() { return instantiate<recipe>(); }
