#pragma once
// Definitions of the functions declared in <mixtrain/data/synthetic_labelme.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/data/synthetic_labelme.hpp>

namespace mixtrain::data {
namespace synthetic {

MIXTRAIN_COLD nlohmann::json labelme_point_shape(const std::string& label, point p) {
  return {{"label", label},     {"points", nlohmann::json::array({nlohmann::json::array({p.x, p.y})})}, {"group_id", nullptr},
          {"description", ""}, {"shape_type", "point"},  {"flags", nlohmann::json::object()}};
}

}  // namespace synthetic

MIXTRAIN_COLD landmark_set synthetic_labelme_symbols() {
  landmark_set set;
  for (const auto& t : synthetic::labelme_landmarks) {
    set.symbols.emplace_back(t.symbol);
    set.titles.emplace_back(t.symbol);
  }
  return set;
}

MIXTRAIN_COLD std::vector<synthetic_labelme_image> write_synthetic_labelme(const std::filesystem::path& root,
                                                                           const synthetic_labelme_options& options) {
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
