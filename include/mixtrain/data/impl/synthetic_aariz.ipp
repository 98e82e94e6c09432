#pragma once
// Definitions of the functions declared in <mixtrain/data/synthetic_aariz.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/data/synthetic_aariz.hpp>

namespace mixtrain::data {
namespace synthetic {

MIXTRAIN_COLD cv::Point to_cv(point p) { return {static_cast<int>(std::lround(p.x)), static_cast<int>(std::lround(p.y))}; }

MIXTRAIN_COLD rendered render(std::mt19937_64& rng, int width, int height, int cvm_stage) {
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

MIXTRAIN_COLD void write_landmark_json(const std::filesystem::path& file, const std::string& id,
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

MIXTRAIN_COLD void write_synthetic_aariz(const std::filesystem::path& root, const synthetic_options& options) {
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
