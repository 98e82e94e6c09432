// expect: adamw: lr must be positive
#include <mixtrain/mixtrain.hpp>
namespace mt = mixtrain;
using recipe = mt::recipe<mt::model::compact_unet<>, mt::data::aariz<>, mt::task::landmark_heatmaps<>, mt::optim::adamw<{.lr = -1e-3}>>;
int main(int argc, char** argv) { return mt::main<recipe>(argc, argv); }
