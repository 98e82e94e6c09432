#pragma once
// Writes a small deterministic labelme tree (data/labelme_reader.hpp) for
// tests and `synth`: PNG and JPEG images with a head-like ellipse and a ring
// of its own brightness at each landmark (so a model can learn them), and one
// labelme JSON per image with the points at quarter pixels. The quirks of real
// files come in a fixed pattern, by index i within each split:
//   i % 4 == 1: one label marked twice, at truth +- (1.5, -1), so the mean is the truth
//   i % 4 == 2: one label not marked (present 0)
//   i % 4 == 3: the image in an "images/" subfolder, plus a polygon shape (ignored)
// The writer returns the truth of every image, so tests compare exactly.
// `write_image` replaces the PNG/JPEG files by any format (dicom_writer.hpp's
// write_synthetic_labelme_dicom writes 16-bit DICOM); unset, the output is
// the same bytes as ever.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <mixtrain/data/annotation.hpp>
#include <mixtrain/data/labelme_reader.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::data {

struct synthetic_labelme_options {
  int train_images = 6;
  int valid_images = 3;
  int test_images = 3;
  int min_side = 160;
  int max_side = 320;
  bool symbols_file = false;  // write symbols.txt (template order) instead of relying on the sorted union
  std::uint64_t seed = 7;
  // Set: every picture (8-bit, one channel) is written by this to
  // <id><image_extension> (in images/ for i % 4 == 3), which the JSON's
  // imagePath names; it throws when it cannot. Unset: PNG, or JPEG for i % 3 == 2.
  std::function<void(const std::filesystem::path& file, const cv::Mat& gray8)> write_image{};
  std::string image_extension{};  // with its dot (".dcm"); required with write_image
};

// One written image: its split, id (JSON stem), JSON file and true points.
struct synthetic_labelme_image {
  std::string split;
  std::string id;
  std::filesystem::path json;
  std::vector<point> landmarks;       // labelme_symbols order
  std::vector<std::uint8_t> present;  // 0 for the label left out
};

namespace synthetic {

struct labelme_template {
  const char* symbol;
  double x, y;  // in a unit head box, face looking right
};

// Ten of the ISBI landmarks, in the order symbols.txt lists them (not sorted).
inline constexpr std::array<labelme_template, 10> labelme_landmarks = {{
    {"S", 0.39, 0.35}, {"N", 0.78, 0.30}, {"Or", 0.69, 0.41}, {"Po", 0.24, 0.42}, {"A", 0.74, 0.60},
    {"B", 0.73, 0.80}, {"Pog", 0.75, 0.88}, {"Me", 0.69, 0.94}, {"Go", 0.39, 0.81}, {"ANS", 0.77, 0.55},
}};

MIXTRAIN_COLD nlohmann::json labelme_point_shape(const std::string& label, point p);

}  // namespace synthetic

// The symbols in the writer's (and its symbols.txt's) order.
MIXTRAIN_COLD landmark_set synthetic_labelme_symbols();

// Generates the tree under `root` (created; existing files are overwritten).
MIXTRAIN_COLD std::vector<synthetic_labelme_image> write_synthetic_labelme(const std::filesystem::path& root,
                                                                           const synthetic_labelme_options& options = {});

}  // namespace mixtrain::data

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/data/impl/synthetic_labelme.ipp>
#endif
