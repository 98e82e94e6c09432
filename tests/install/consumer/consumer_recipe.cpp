// A recipe compiled against the installed headers.
#include <mixtrain/mixtrain.hpp>

namespace mt = mixtrain;

using recipe = mt::recipe<mt::model::compact_unet<{.width = 8}>, mt::data::aariz<{.image_size = {64, 64}}>,
                          mt::task::landmark_heatmaps<>, mt::optim::sgd<{.lr = 0.01}>>;

int main(int argc, char** argv) { return mt::main<recipe>(argc, argv); }
