// expect: model spec: missing `static constexpr std::string_view name`
#include <mixtrain/mixtrain.hpp>
namespace mt = mixtrain;
using recipe = mt::recipe<int, mt::data::aariz<>, mt::task::landmark_heatmaps<>, mt::optim::adamw<>>;
int main(int argc, char** argv) { return mt::main<recipe>(argc, argv); }
