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

inline cv::Point to_cv(point p) { return {static_cast<int>(std::lround(p.x)), static_cast<int>(std::lround(p.y))}; }

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

inline rendered render(std::mt19937_64& rng, int width, int height, int cvm_stage = 0) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> n(0.0, 1.0);
  auto between = [&](double lo, double hi) { return lo + (hi - lo) * u(rng); };

  // Head placement: size, position and tilt vary, so a mean shape is a poor guess.
  const double head = std::min(width, height) * between(0.6, 0.85);
  const double angle = between(-10, 10) * M_PI / 180.0;
  const double cx = width * between(0.4, 0.6), cy = height * between(0.42, 0.58);
  const double stretch = between(0.92, 1.08);
  auto place = [&](double x, double y) {
    const double dx = (x - 0.55) * head * stretch, dy = (y - 0.6) * head;
    return point{cx + std::cos(angle) * dx - std::sin(angle) * dy, cy + std::sin(angle) * dx + std::cos(angle) * dy};
  };

  rendered out;
  for (const auto& t : aariz_landmarks)
    out.landmarks.push_back(place(t.x + 0.012 * n(rng), t.y + 0.012 * n(rng)));
  auto at = [&](const char* symbol) {
    for (std::size_t i = 0; i < aariz_landmarks.size(); ++i)
      if (std::string(aariz_landmarks[i].symbol) == symbol) return to_cv(out.landmarks[i]);
    return cv::Point{};
  };

  cv::Mat image(height, width, CV_8UC1, cv::Scalar(between(15, 35)));
  const int line = std::max(2, static_cast<int>(head * 0.008));
  // Soft tissue, cranium and the face's bony outline.
  cv::ellipse(image, to_cv(place(0.45, 0.5)), cv::Size(static_cast<int>(head * 0.5), static_cast<int>(head * 0.55)),
              angle * 180 / M_PI, 0, 360, cv::Scalar(70), cv::FILLED);
  std::vector<cv::Point> profile = {at("N'"), at("Pn"), at("Sn"), at("Ls"), at("Li"), at("Pog'"),
                                    to_cv(place(0.7, 1.0)), to_cv(place(0.4, 0.95)), to_cv(place(0.5, 0.3))};
  cv::fillPoly(image, std::vector<std::vector<cv::Point>>{profile}, cv::Scalar(85));
  cv::ellipse(image, to_cv(place(0.45, 0.3)), cv::Size(static_cast<int>(head * 0.36), static_cast<int>(head * 0.26)),
              angle * 180 / M_PI, 0, 360, cv::Scalar(140), cv::FILLED);
  std::vector<cv::Point> maxilla = {at("N"), at("Or"), at("ANS"), at("A"), at("UIA"), at("PNS")};
  cv::fillPoly(image, std::vector<std::vector<cv::Point>>{maxilla}, cv::Scalar(125));
  std::vector<cv::Point> mandible = {at("Co"), at("Ar"), at("R"), at("Go"), at("Me"), at("Gn"), at("Pog"), at("B"),
                                     at("LIA"), at("LMT")};
  cv::fillPoly(image, std::vector<std::vector<cv::Point>>{mandible}, cv::Scalar(150));
  cv::line(image, at("UIA"), at("UIT"), cv::Scalar(215), line * 2);
  cv::line(image, at("LIA"), at("LIT"), cv::Scalar(205), line * 2);
  cv::circle(image, at("S"), static_cast<int>(head * 0.03), cv::Scalar(60), cv::FILLED);
  cv::circle(image, at("Po"), static_cast<int>(head * 0.02), cv::Scalar(45), cv::FILLED);
  draw_vertebrae(image, place, head, angle, cvm_stage);
  // Each landmark sits on a small ring of its own brightness: a visible anchor.
  for (std::size_t i = 0; i < out.landmarks.size(); ++i) {
    const int radius = std::max(3, static_cast<int>(head * 0.011));
    cv::circle(image, to_cv(out.landmarks[i]), radius, cv::Scalar(170 + 3 * static_cast<double>(i % 20)), line);
  }
  // Film-like blur, a vignette and noise.
  cv::GaussianBlur(image, image, cv::Size(0, 0), std::max(0.8, head * 0.002));
  cv::Mat noise(image.size(), CV_16SC1);
  cv::RNG noise_rng(rng());  // seeded from ours: OpenCV's global RNG would break determinism
  noise_rng.fill(noise, cv::RNG::NORMAL, 0, between(4, 10));
  cv::Mat widened;
  image.convertTo(widened, CV_16SC1);
  widened += noise;
  widened.convertTo(image, CV_8UC1);
  out.image = image;
  return out;
}

inline void write_landmark_json(const std::filesystem::path& file, const std::string& id,
                                const std::vector<point>& points) {
  nlohmann::json json;
  json["ceph_id"] = id;
  json["landmarks"] = nlohmann::json::array();
  for (std::size_t i = 0; i < points.size(); ++i) {
    json["landmarks"].push_back({{"landmark_id", 1000 + static_cast<int>(i) * 7},
                                 {"title", aariz_landmarks[i].title},
                                 {"symbol", aariz_landmarks[i].symbol},
                                 {"value", {{"x", std::lround(points[i].x)}, {"y", std::lround(points[i].y)}}}});
  }
  std::ofstream(file) << json.dump(1);
}

}  // namespace synthetic

// Generates the tree under `root` (created; existing files are overwritten).
inline void write_synthetic_aariz(const std::filesystem::path& root, const synthetic_options& options) {
  namespace fs = std::filesystem;
  std::ofstream csv;
  fs::create_directories(root);
  csv.open(root / aariz_layout::mapping_file);
  csv << "cephalogram_id,machine,pixel_size,image_format,mode\n";
  std::mt19937_64 rng(options.seed);
  std::uniform_int_distribution<int> side(options.min_side, options.max_side);
  std::uniform_real_distribution<double> aspect(0.8, 1.25);
  std::normal_distribution<double> n(0.0, 1.0);
  const std::array<std::pair<const char*, int>, 3> splits = {
      {{"train", options.train_images}, {"valid", options.valid_images}, {"test", options.test_images}}};
  int serial = 0;
  for (const auto& [split_name, count] : splits) {
    for (const auto& annotator : aariz_layout::annotators)
      fs::create_directories(aariz_layout::landmarks_dir(root, split_name, annotator));
    fs::create_directories(aariz_layout::images_dir(root, split_name));
    fs::create_directories(aariz_layout::cvm_dir(root, split_name));
    for (int i = 0; i < count; ++i, ++serial) {
      const auto& device = synthetic::machines[static_cast<std::size_t>(serial) % synthetic::machines.size()];
      const std::string id = "synth" + std::to_string(100000 + serial).substr(1);
      const int height = side(rng);
      const int width = std::clamp(static_cast<int>(height / aspect(rng)), options.min_side, options.max_side);
      const int stage = 1 + serial % 6;
      auto picture = synthetic::render(rng, width, height, stage);
      cv::imwrite((aariz_layout::images_dir(root, split_name) / (id + device.extension)).string(), picture.image);
      // Annotators disagree by a fraction of a millimetre.
      for (std::size_t a = 0; a < aariz_layout::annotators.size(); ++a) {
        auto marked = picture.landmarks;
        const double spread_px = (a == 0 ? 0.3 : 0.5) / device.pixel_size;
        for (auto& p : marked) p = {p.x + spread_px * n(rng), p.y + spread_px * n(rng)};
        synthetic::write_landmark_json(aariz_layout::landmarks_dir(root, split_name, aariz_layout::annotators[a]) / (id + ".json"),
                                       id, marked);
      }
      nlohmann::json cvm = {{"ceph_id", id}, {"cvm_stage", {{"id", 50 + stage}, {"title", "CVM-S" + std::to_string(stage)}, {"value", stage}}}};
      std::ofstream(aariz_layout::cvm_dir(root, split_name) / (id + ".json")) << cvm.dump(1);
      const std::string format = std::string(device.extension).substr(1);
      csv << id << ',' << device.name << ',' << device.pixel_size << ',' << format << ",synthetic\n";
    }
  }
}

}  // namespace mixtrain::data
