// Example: a user data source in a recipe. clinic::csv_landmarks (written in
// clinic/csv_landmarks.hpp, outside the library) reads <dataset_path>/train.csv,
// valid.csv and test.csv (image,pixel_size_mm,<symbol>_x,<symbol>_y,...) and
// streams the same batches as the Aariz source through the library's
// pipeline, so the heatmap task, the app's commands and every policy work
// unchanged. Augmentations, the user's own included, belong to the source.
//
//   example_csv_landmarks train --dataset_path my_clinic --epochs 30
#include <mixtrain/mixtrain.hpp>

#include "clinic/csv_landmarks.hpp"
#include "clinic/sine_warp.hpp"

namespace mt = mixtrain;

namespace clinic {
using csv_landmarks_recipe = mt::recipe<
    mt::model::compact_unet<{.width = 24}>,
    clinic::csv_landmarks<{.image_size = {256, 256}, .pixel_size_mm = 0.1},
                          mt::augment::affine<{.rotate_deg = 8, .scale = {0.9, 1.1}, .shift_fraction = 0.04}>,
                          clinic::sine_warp<{.amplitude = 0.01, .wavelength = 0.5, .probability = 0.5}>>,
    mt::task::landmark_heatmaps<{.sigma = 2.0}>,
    mt::optim::adamw<{.lr = 2e-3, .weight_decay = 1e-4}>,
    mt::policy::early_stopping<{.patience = 8}>,
    mt::fit<{.epochs = 40, .batch_size = 8, .num_workers = 2}>>;
}  // namespace clinic

int main(int argc, char** argv) { return mt::main<clinic::csv_landmarks_recipe>(argc, argv); }
