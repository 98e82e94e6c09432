// The seed's experiment: HRNet-W32 on Aariz at 1024x1024 with bf16 autocast and
// channels-last where this machine runs them faster (the model timed at 128 px at
// the first start, cached: AMX CPUs and GPUs yes, an AVX2-only CPU no; =force or
// =false decide by hand), EMA, 4-step accumulation of batches of 2, warmup + cosine,
// early stopping, checkpoints every 5 epochs and the intra-op thread count that
// trains fastest beside the data workers (timed in the first two epochs). The
// landmark count comes from the data (--dataset_path) or, for describe, --num_landmarks. The 2 GiB decoded-image cache
// lives inside the 2 GiB memory budget: it is shrunk to what the batches in flight leave (logged).
#include <mixtrain/mixtrain.hpp>

namespace mt = mixtrain;

using recipe = mt::recipe<
    mt::model::hrnet<mt::model::hrnet_w32>,
    mt::data::aariz<{.image_size = {1024, 1024}},
                    mt::augment::affine<{.rotate_deg = 10, .scale = {0.9, 1.1}, .shift_fraction = 0.05}>,
                    mt::augment::intensity<{}>>,
    mt::task::landmark_heatmaps<{.sigma = 2.0}, mt::loss::heatmap_mse, mt::heatmap::dark>,
    mt::optim::adamw<{.lr = 3e-4, .weight_decay = 1e-4}>,
    mt::policy::amp<mt::bf16>,  // 'auto': kept only where measured faster (docs/policies.md)
    mt::policy::channels_last,  // 'auto' likewise
    mt::policy::ema<{.decay = 0.9998}>,
    mt::policy::accumulate<{.steps = 4}>,
    mt::policy::warmup_cosine<{.warmup_epochs = 10}>,
    mt::policy::early_stopping<{.patience = 20}>,
    mt::policy::checkpoint<{.every_epochs = 5}>,
    mt::policy::thread_split<>,  // intra-op threads against the data workers, timed on the first epochs' windows
    mt::fit<{.epochs = 200, .batch_size = 2, .num_workers = 2, .memory_budget_mb = 2048, .cache_mb = 2048}>>;

int main(int argc, char** argv) { return mt::main<recipe>(argc, argv); }
