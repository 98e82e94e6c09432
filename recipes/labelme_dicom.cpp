// labelme_demo on DICOM images: the same model and source, with the DICOM
// decoder registered (#include <mixtrain/data/dicom.hpp>, link
// mixtrain::dicom), so a labelme file's imagePath may name a .dcm and each
// such image's pixel size comes from its tags (ImagerPixelSpacing /
// EstimatedRadiographicMagnificationFactor, else PixelSpacing; docs/data.md);
// --pixel_size_mm applies only to images without one. `labelme_dicom synth
// --output D` writes a labelme tree over 16-bit DICOM images with
// ImagerPixelSpacing 0.12 mm (data/dicom_writer.hpp).
#include <mixtrain/data/dicom.hpp>
#include <mixtrain/data/dicom_writer.hpp>
#include <mixtrain/data/labelme.hpp>
#include <mixtrain/mixtrain.hpp>

namespace mt = mixtrain;

using labelme_source = mt::data::labelme<{.image_size = {256, 256}, .pixel_size_mm = 0.1},
                                         mt::augment::affine<{.rotate_deg = 8, .scale = {0.9, 1.1}, .shift_fraction = 0.04}>,
                                         mt::augment::intensity<{.brightness = 0.1, .contrast = 0.15}>>;

// The labelme source; only `synth` differs: DICOM images instead of PNG/JPEG.
struct labelme_dicom_source : labelme_source {
  static void write_synthetic(const std::filesystem::path& folder, const mt::data::synthetic_options& o) {
    (void)mt::data::write_synthetic_labelme_dicom(folder, synthetic_labelme_options_for(o));
  }
};

using recipe = mt::recipe<mt::model::compact_unet<{.width = 24}>, labelme_dicom_source,
                          mt::task::landmark_heatmaps<{.sigma = 2.0}, mt::loss::heatmap_mse, mt::heatmap::dark>,
                          mt::optim::adamw<{.lr = 2e-3, .weight_decay = 1e-4}>,
                          mt::fit<{.epochs = 40, .batch_size = 8, .num_workers = 2, .cache_mb = 512}>>;

int main(int argc, char** argv) { return mt::main<recipe>(argc, argv); }
