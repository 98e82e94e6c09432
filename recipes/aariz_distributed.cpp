// The demo recipe, data-parallel: `--nproc N` trains on N local processes
// (c10d with Gloo), or one rank of a torchrun-style launch (docs/distributed.md).
// Only recipes that hold mt::policy::distributed include c10d.
#include <mixtrain/mixtrain.hpp>
#include <mixtrain/policy/distributed.hpp>

namespace mt = mixtrain;

using recipe = mt::recipe<
    mt::model::compact_unet<{.width = 24}>,
    mt::data::aariz<{.image_size = {256, 256}},
                    mt::augment::affine<{.rotate_deg = 8, .scale = {0.9, 1.1}, .shift_fraction = 0.04}>,
                    mt::augment::intensity<{.brightness = 0.1, .contrast = 0.15}>>,
    mt::task::landmark_heatmaps<{.sigma = 2.0}, mt::loss::heatmap_mse, mt::heatmap::dark>,
    mt::optim::adamw<{.lr = 2e-3, .weight_decay = 1e-4}>,
    mt::policy::accumulate<{.steps = 1}>,
    mt::policy::distributed,
    mt::fit<{.epochs = 40, .batch_size = 8, .num_workers = 2, .cache_mb = 512}>>;

int main(int argc, char** argv) { return mt::main<recipe>(argc, argv); }
