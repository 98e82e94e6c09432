// The variant recipe behind `bench-variants`: the demo's data and task with
// the model, AMP, channels-last and gradient accumulation chosen by the axes
// of mixtrain_add_variants (benchmarks/CMakeLists.txt). A policy whose axis is
// off is absent from the type list (mt::when), so each executable is what a
// hand-written recipe with exactly those policies would be.
#include <mixtrain_variant.hpp>

#include <mixtrain/mixtrain.hpp>

namespace mt = mixtrain;
namespace v = mixtrain::variant;

using model = std::conditional_t<v::model == "hrnet_small", mt::model::hrnet<mt::model::hrnet_small>,
                                 mt::model::compact_unet<{.width = 24}>>;
static_assert(v::model == "hrnet_small" || v::model == "compact_unet", "model axis: compact_unet or hrnet_small");
static_assert(v::amp == "off" || v::amp == "bf16", "amp axis: off or bf16");
static_assert(v::channels_last == "off" || v::channels_last == "on", "channels_last axis: off or on");

using recipe = mt::recipe<
    model,
    mt::data::aariz<{.image_size = {256, 256}},
                    mt::augment::affine<{.rotate_deg = 8, .scale = {0.9, 1.1}, .shift_fraction = 0.04}>,
                    mt::augment::intensity<{.brightness = 0.1, .contrast = 0.15}>>,
    mt::task::landmark_heatmaps<{.sigma = 2.0}, mt::loss::heatmap_mse, mt::heatmap::dark>,
    mt::optim::adamw<{.lr = 2e-3, .weight_decay = 1e-4}>,
    // bf16 forced on (no start-up measurement): the variant measures it.
    mt::when<v::amp == "bf16", mt::policy::amp<mt::bf16, {.enabled = true, .measure_on_cpu = false}>>,
    mt::when<v::channels_last == "on", mt::policy::channels_last_layout<{.measure_on_cpu = false}>>,
    mt::when<(mt::axis_int(v::accumulate) > 1), mt::policy::accumulate<{.steps = mt::axis_int(v::accumulate)}>>,
    mt::fit<{.epochs = 40, .batch_size = 8, .num_workers = 2, .cache_mb = 512}>>;

int main(int argc, char** argv) { return mt::main<recipe>(argc, argv); }
