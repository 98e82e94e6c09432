// Landmarks and the CVM stage from one shared backbone: the demo recipe with
// six more output planes, pooled into stage logits
// (task/landmarks_and_classes.hpp). Compare it with aariz_demo.
#include <mixtrain/mixtrain.hpp>
#include <mixtrain/task/landmarks_and_classes.hpp>

namespace mt = mixtrain;

using recipe = mt::recipe<
    mt::model::compact_unet<{.width = 24}>,
    mt::data::aariz<{.image_size = {256, 256}},
                    mt::augment::affine<{.rotate_deg = 8, .scale = {0.9, 1.1}, .shift_fraction = 0.04}>,
                    mt::augment::intensity<{.brightness = 0.1, .contrast = 0.15}>>,
    mt::task::landmarks_and_classes<mt::task::landmark_heatmaps<{.sigma = 2.0}, mt::loss::heatmap_mse, mt::heatmap::dark>,
                                    mt::task::image_classes<mt::task::cvm_stages>, {.class_weight = 0.0005}>,
    mt::optim::adamw<{.lr = 2e-3, .weight_decay = 1e-4}>,
    mt::fit<{.epochs = 40, .batch_size = 8, .num_workers = 2, .cache_mb = 512}>>;

int main(int argc, char** argv) { return mt::main<recipe>(argc, argv); }
