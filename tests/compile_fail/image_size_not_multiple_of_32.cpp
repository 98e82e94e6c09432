// expect: image_size must be positive multiples of 32
#include <mixtrain/mixtrain.hpp>
namespace mt = mixtrain;
using recipe = mt::recipe<mt::model::compact_unet<>, mt::data::aariz<{.image_size = {250, 256}}>, mt::task::landmark_heatmaps<>,
                          mt::optim::adamw<>>;
int main(int argc, char** argv) { return mt::main<recipe>(argc, argv); }
