// Example: a user policy in a recipe. clinic::freeze_backbone (written in
// clinic/freeze_backbone.hpp, outside the library) trains only compact_unet's
// 1x1 head for the first 3 epochs, then the whole model, e.g. after
// --init_from weights of another run. --freeze_epochs overrides K.
#include <mixtrain/mixtrain.hpp>

#include "clinic/freeze_backbone.hpp"

namespace mt = mixtrain;

namespace clinic {
using freeze_backbone_recipe = mt::recipe<
    mt::model::compact_unet<{.width = 24}>,
    mt::data::aariz<{.image_size = {256, 256}},
                    mt::augment::affine<{.rotate_deg = 8, .scale = {0.9, 1.1}, .shift_fraction = 0.04}>>,
    mt::task::landmark_heatmaps<{.sigma = 2.0}>,
    mt::optim::adamw<{.lr = 2e-3, .weight_decay = 1e-4}>,
    clinic::freeze_backbone<{.epochs = 3, .head = "head"}>,
    mt::policy::warmup_cosine<{.warmup_epochs = 1, .min_lr = 1e-6}>,
    mt::fit<{.epochs = 20, .batch_size = 8, .num_workers = 2}>>;
}  // namespace clinic

int main(int argc, char** argv) { return mt::main<clinic::freeze_backbone_recipe>(argc, argv); }
