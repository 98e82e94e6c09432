// expect: affine: scale must be an interval \{low, high\} with 0 < low <= high
#include <mixtrain/mixtrain.hpp>
namespace mt = mixtrain;
using recipe = mt::recipe<mt::model::compact_unet<>, mt::data::aariz<{}, mt::augment::affine<{.scale = {1.2, 0.9}}>>,
                          mt::task::landmark_heatmaps<>, mt::optim::adamw<>>;
int main(int argc, char** argv) { return mt::main<recipe>(argc, argv); }
