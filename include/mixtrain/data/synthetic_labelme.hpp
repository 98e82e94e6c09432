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

inline nlohmann::json labelme_point_shape(const std::string& label, point p) {
  return {{"label", label},     {"points", nlohmann::json::array({nlohmann::json::array({p.x, p.y})})}, {"group_id", nullptr},
          {"description", ""}, {"shape_type", "point"},  {"flags", nlohmann::json::object()}};
}

}  // namespace synthetic

// The symbols in the writer's (and its symbols.txt's) order.
inline landmark_set synthetic_labelme_symbols() {
  landmark_set set;
  for (const auto& t : synthetic::labelme_landmarks) {
    set.symbols.emplace_back(t.symbol);
    set.titles.emplace_back(t.symbol);
  }
  return set;
}

// Generates the tree under `root` (created; existing files are overwritten).
inline std::vector<synthetic_labelme_image> write_synthetic_labelme(const std::filesystem::path& root,
                                                                    const synthetic_labelme_options& options = {}) {
  namespace fs = std::filesystem;
  const std::array<std::pair<const char*, int>, 3> splits = {
      {{"train", options.train_images}, {"valid", options.valid_images}, {"test", options.test_images}}};
  for (const auto& [name, count] : splits)
    if (count < 0 || count > 100000) throw std::invalid_argument(std::string("synthetic labelme: bad image count for ") + name);
  if (options.min_side < 64 || options.max_side < options.min_side)
    throw std::invalid_argument("synthetic labelme: sides must be 64 px or more, min_side <= max_side");
  if (options.write_image && !options.image_extension.starts_with('.'))
    throw std::invalid_argument("synthetic labelme: write_image needs image_extension, e.g. \".dcm\"");
  fs::create_directories(root);
  if (options.symbols_file) {
    std::ofstream symbols(root / labelme_layout::symbols_file);
    symbols << "# landmark symbols in model channel order\n";
    for (const auto& t : synthetic::labelme_landmarks) symbols << t.symbol << "\n";
    if (!symbols) throw std::runtime_error("cannot write " + (root / labelme_layout::symbols_file).string());
  }
  constexpr auto count = synthetic::labelme_landmarks.size();
  std::mt19937_64 rng(options.seed);
  std::uniform_int_distribution<int> side(options.min_side, options.max_side);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  auto quarter = [](double v) { return std::round(v * 4) / 4; };  // exact in binary: means stay exact
  std::vector<synthetic_labelme_image> written;
  int serial = 0;
  for (const auto& [split_name, images] : splits) {
    const auto dir = root / split_name;
    fs::create_directories(dir / "images");
    for (int i = 0; i < images; ++i, ++serial) {
      const std::string id = "case" + std::to_string(1000 + serial).substr(1);
      const int width = side(rng), height = side(rng);
      const double head = std::min(width, height) * 0.7;
      // The head moves by up to 8% of its size, so a mean shape is a poor guess.
      const double cx = width / 2.0 + 0.08 * head * u(rng), cy = height / 2.0 + 0.08 * head * u(rng);
      synthetic_labelme_image truth{split_name, id, dir / (id + ".json"), {}, std::vector<std::uint8_t>(count, 1)};
      for (const auto& t : synthetic::labelme_landmarks)
        truth.landmarks.push_back({quarter(cx + (t.x - 0.55) * head + 0.015 * head * u(rng)),
                                   quarter(cy + (t.y - 0.6) * head + 0.015 * head * u(rng))});

      cv::Mat image(height, width, CV_8UC1, cv::Scalar(25));
      cv::ellipse(image, cv::Point(static_cast<int>(cx), static_cast<int>(cy)),
                  cv::Size(static_cast<int>(head * 0.5), static_cast<int>(head * 0.55)), 0, 0, 360, cv::Scalar(80), cv::FILLED);
      const int radius = std::max(3, static_cast<int>(head * 0.015));
      const int thickness = std::max(1, static_cast<int>(head * 0.005));
      for (std::size_t k = 0; k < count; ++k)  // each landmark a ring of its own brightness
        cv::circle(image, cv::Point(static_cast<int>(std::lround(truth.landmarks[k].x)), static_cast<int>(std::lround(truth.landmarks[k].y))),
                   radius, cv::Scalar(140 + 10 * static_cast<double>(k)), thickness);
      const std::string image_name = id + (options.write_image ? options.image_extension : i % 3 == 2 ? ".jpg" : ".png");
      const std::string image_path = i % 4 == 3 ? "images/" + image_name : image_name;
      if (options.write_image) options.write_image(dir / image_path, image);
      else if (!cv::imwrite((dir / image_path).string(), image)) throw std::runtime_error("cannot write " + (dir / image_path).string());

      nlohmann::json shapes = nlohmann::json::array();
      const std::size_t odd = static_cast<std::size_t>(serial) % count;  // the label this file treats oddly
      for (std::size_t k = 0; k < count; ++k) {
        const std::string label = synthetic::labelme_landmarks[k].symbol;
        const auto p = truth.landmarks[k];
        if (i % 4 == 2 && k == odd) {
          truth.present[k] = 0;
          truth.landmarks[k] = {};
        } else if (i % 4 == 1 && k == odd) {
          shapes.push_back(synthetic::labelme_point_shape(label, {p.x + 1.5, p.y - 1.0}));
          shapes.push_back(synthetic::labelme_point_shape(label, {p.x - 1.5, p.y + 1.0}));
        } else {
          shapes.push_back(synthetic::labelme_point_shape(label, p));
        }
      }
      if (i % 4 == 3)  // an outline the clinic drew as well: not a landmark
        shapes.push_back({{"label", "head"},
                          {"points", {{cx - head * 0.4, cy}, {cx, cy - head * 0.4}, {cx + head * 0.4, cy}}},
                          {"group_id", nullptr},
                          {"shape_type", "polygon"},
                          {"flags", nlohmann::json::object()}});
      const nlohmann::json json = {{"version", "5.4.1"},       {"flags", nlohmann::json::object()},
                                   {"shapes", shapes},          {"imagePath", image_path},
                                   {"imageData", nullptr},      {"imageHeight", height},
                                   {"imageWidth", width}};
      std::ofstream(truth.json) << json.dump(2);
      written.push_back(std::move(truth));
    }
  }
  return written;
}

}  // namespace mixtrain::data
