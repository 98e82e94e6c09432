#pragma once
// Writes a deterministic synthetic dataset in the Aariz layout: X-ray-like
// grayscale lateral "cephalograms" of varied sizes and formats from several
// machines, two annotators that disagree slightly, CVM files, and landmarks
// that sit on visible structures so a model can learn them.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <mixtrain/data/aariz_reader.hpp>
#include <mixtrain/data/annotation.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::data {

struct synthetic_options {
  int train_images = 120;
  int valid_images = 30;
  int test_images = 30;
  int min_side = 600;
  int max_side = 2400;
  std::uint64_t seed = 7;
};

namespace synthetic {

struct landmark_template {
  const char* symbol;
  const char* title;
  double x, y;  // in a unit head box, face looking right
};

// The 29 Aariz landmarks in the release's order, placed roughly where they sit
// on a lateral cephalogram.
inline const std::array<landmark_template, 29> aariz_landmarks = {{
    {"A", "A-point", 0.74, 0.60},          {"ANS", "Anterior Nasal Spine", 0.77, 0.55},
    {"B", "B-point", 0.73, 0.80},          {"Me", "Menton", 0.69, 0.94},
    {"N", "Nasion", 0.78, 0.30},           {"Or", "Orbitale", 0.69, 0.41},
    {"Pog", "Pogonion", 0.75, 0.88},       {"PNS", "Posterior Nasal Spine", 0.49, 0.56},
    {"Pn", "Pronasale", 0.93, 0.50},       {"R", "Ramus", 0.37, 0.66},
    {"S", "Sella", 0.39, 0.35},            {"Ar", "Articulare", 0.31, 0.52},
    {"Co", "Condylion", 0.29, 0.47},       {"Gn", "Gnathion", 0.73, 0.92},
    {"Go", "Gonion", 0.39, 0.81},          {"Po", "Porion", 0.24, 0.42},
    {"LPM", "Lower Premolar", 0.66, 0.725}, {"LIT", "Lower Incisor Tip", 0.775, 0.705},
    {"LMT", "Lower Molar Tip", 0.58, 0.725}, {"UPM", "Upper Premolar", 0.66, 0.685},
    {"UIA", "Upper Incisor Apex", 0.72, 0.58}, {"UIT", "Upper Incisor Tip", 0.79, 0.695},
    {"UMT", "Upper Molar Tip", 0.58, 0.685}, {"LIA", "Lower Incisor Apex", 0.71, 0.82},
    {"Li", "Labrale inferius", 0.865, 0.76}, {"Ls", "Labrale superius", 0.875, 0.665},
    {"N'", "Soft Tissue Nasion", 0.84, 0.30}, {"Pog'", "Soft Tissue Pogonion", 0.83, 0.89},
    {"Sn", "Subnasale", 0.86, 0.585},
}};

struct machine {
  const char* name;
  double pixel_size;
  const char* extension;
};

inline const std::array<machine, 7> machines = {{
    {"synthetic-A", 0.089, ".png"}, {"synthetic-B", 0.1, ".jpg"},   {"synthetic-C", 0.11, ".bmp"},
    {"synthetic-D", 0.12, ".png"},  {"synthetic-E", 0.127, ".jpeg"}, {"synthetic-F", 0.135, ".png"},
    {"synthetic-G", 0.144, ".jpg"},
}};

MIXTRAIN_COLD cv::Point to_cv(point p);

struct rendered {
  cv::Mat image;
  std::vector<point> landmarks;
};

// The cervical vertebrae C2-C4 behind the mandible, drawn so that the CVM
// stage (1-6, 0 = none) is visible: with each stage the bodies grow taller
// (wedge to square to upright), brighter, and one more lower border turns
// concave (C2 from stage 2, C3 from 3, C4 from 4), as in the real staging.
template <class Place>
void draw_vertebrae(cv::Mat& image, const Place& place, double head, double angle, int stage) {
  if (stage <= 0) return;
  const double width = 0.09 * head, height = 0.09 * head * (0.45 + 0.12 * stage);
  for (int v = 0; v < 3; ++v) {
    const auto centre = to_cv(place(0.22, 0.70 + 0.13 * v));
    const cv::RotatedRect body(centre, cv::Size2f(static_cast<float>(width), static_cast<float>(height)),
                               static_cast<float>(angle * 180 / M_PI));
    cv::Point2f corners[4];
    body.points(corners);
    std::vector<cv::Point> polygon(corners, corners + 4);
    cv::fillConvexPoly(image, polygon, cv::Scalar(80 + 25 * stage));
    if (stage >= 2 + v) {  // a concave lower border: a dark notch in its middle
      const auto notch = to_cv(place(0.22, 0.70 + 0.13 * v + 0.5 * height / head));
      cv::ellipse(image, notch, cv::Size(static_cast<int>(width * 0.3), static_cast<int>(height * 0.2)),
                  angle * 180 / M_PI, 0, 360, cv::Scalar(40), cv::FILLED);
    }
  }
}

MIXTRAIN_COLD rendered render(std::mt19937_64& rng, int width, int height, int cvm_stage = 0);

MIXTRAIN_COLD void write_landmark_json(const std::filesystem::path& file, const std::string& id,
                                       const std::vector<point>& points);

}  // namespace synthetic

// Generates the tree under `root` (created; existing files are overwritten).
MIXTRAIN_COLD void write_synthetic_aariz(const std::filesystem::path& root, const synthetic_options& options);

}  // namespace mixtrain::data

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/data/impl/synthetic_aariz.ipp>
#endif
