// expect: check_data_source<user::csv_points>.*data source: read_split
#include "bad_recipe.hpp"
namespace user {
struct csv_points : mt::data::aariz<{.image_size = {64, 64}}> {
  static constexpr std::string_view name = "csv_points";
  // read_split is hidden by a member of another shape.
  int read_split = 0;
};
}  // namespace user
using recipe = mt::recipe<mt::model::compact_unet<{.width = 8}>, user::csv_points, mt::task::landmark_heatmaps<>,
                          mt::optim::adamw<>>;
int main() { return instantiate<recipe>(); }
