// Example: a user augmentation in a recipe. clinic::sine_warp (written in
// clinic/sine_warp.hpp, outside the library) is a smooth non-affine warp that
// moves the landmarks with the pixels; it runs after the library's affine
// augmentation and intensity changes, in recipe order.
#include <mixtrain/mixtrain.hpp>

#include "clinic/sine_warp.hpp"

namespace mt = mixtrain;

namespace clinic {
using sine_warp_recipe = mt::recipe<
    mt::model::compact_unet<{.width = 24}>,
    mt::data::aariz<{.image_size = {256, 256}},
                    mt::augment::affine<{.rotate_deg = 8, .scale = {0.9, 1.1}, .shift_fraction = 0.04}>,
                    mt::augment::intensity<{.brightness = 0.1, .contrast = 0.15}>,
                    clinic::sine_warp<{.amplitude = 0.015, .wavelength = 0.5, .probability = 0.5}>>,
    mt::task::landmark_heatmaps<{.sigma = 2.0}>,
    mt::optim::adamw<{.lr = 2e-3, .weight_decay = 1e-4}>,
    mt::fit<{.epochs = 40, .batch_size = 8, .num_workers = 2}>>;
}  // namespace clinic

int main(int argc, char** argv) { return mt::main<clinic::sine_warp_recipe>(argc, argv); }
