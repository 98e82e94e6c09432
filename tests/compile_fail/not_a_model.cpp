// expect: The first recipe argument must be a model
#include <mixtrain/mixtrain.hpp>
namespace mt = mixtrain;
using recipe = mt::recipe<int, mt::data::aariz<>, mt::loss::heatmap_mse, mt::optim::adamw<>>;
int main(int argc, char** argv) { return mt::main<recipe>(argc, argv); }
