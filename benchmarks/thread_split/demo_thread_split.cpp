// The demo recipe with mt::policy::thread_split added: what bench-thread-split
// runs against fixed thread counts (benchmarks/thread_split/thread_split.sh).
// The demo itself keeps one count, so its runs repeat bit for bit.
#include <mixtrain/mixtrain.hpp>
#include <mixtrain/policy/thread_split.hpp>

namespace mt = mixtrain;

using recipe = mt::recipe<
    mt::model::compact_unet<{.width = 24}>,
    mt::data::aariz<{.image_size = {256, 256}},
                    mt::augment::affine<{.rotate_deg = 8, .scale = {0.9, 1.1}, .shift_fraction = 0.04}>,
                    mt::augment::intensity<{.brightness = 0.1, .contrast = 0.15}>>,
    mt::task::landmark_heatmaps<{.sigma = 2.0}, mt::loss::heatmap_mse, mt::heatmap::dark>,
    mt::optim::adamw<{.lr = 2e-3, .weight_decay = 1e-4}>,
    mt::policy::thread_split<>,
    mt::fit<{.epochs = 40, .batch_size = 8, .num_workers = 2, .cache_mb = 512}>>;

int main(int argc, char** argv) { return mt::main<recipe>(argc, argv); }
