// expect: Two heatmap decoders in one recipe
#include <mixtrain/mixtrain.hpp>
namespace mt = mixtrain;
using recipe = mt::recipe<mt::model::compact_unet<>, mt::data::aariz<>, mt::loss::heatmap_mse, mt::optim::adamw<>,
                          mt::heatmap::dark, mt::heatmap::argmax>;
int main(int argc, char** argv) { return mt::main<recipe>(argc, argv); }
