#pragma once
// Definitions of the functions declared in <mixtrain/data/synthetic_isbi.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/data/synthetic_isbi.hpp>

namespace mixtrain::data {
namespace synthetic {

MIXTRAIN_COLD void write_isbi_points(const std::filesystem::path& file, const std::vector<point>& points, bool crlf) {
  const char* eol = crlf ? "\r\n" : "\n";
  std::ofstream out(file, std::ios::binary);
  for (const auto& p : points) out << std::lround(p.x) << ',' << std::lround(p.y) << eol;
  for (const int label : {1, 2, 3, 1, 2, 1, 3, 2}) out << label << eol;  // the classification labels
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

}  // namespace synthetic

MIXTRAIN_COLD void write_synthetic_isbi(const std::filesystem::path& root, const synthetic_isbi_options& options) {
  namespace fs = std::filesystem;
  const std::array<int, 4> counts = {options.train_images, options.valid_images, options.test_images, options.test2_images};
  for (std::size_t s = 0; s < counts.size(); ++s) {
    const auto& spec = isbi_layout::splits[s];
    if (counts[s] < 0 || counts[s] > spec.last - spec.first + 1)
      throw std::invalid_argument("synthetic ISBI: split '" + std::string(spec.name) + "' takes 0 to " +
                                  std::to_string(spec.last - spec.first + 1) + " images");
  }
  if (options.width < 64 || options.height < 64) throw std::invalid_argument("synthetic ISBI: images need 64 px or more");
  const auto senior_dir = isbi_layout::annotations_dir(root, isbi_layout::senior_folder);
  const auto junior_dir = isbi_layout::annotations_dir(root, isbi_layout::junior_folder);
  fs::create_directories(senior_dir);
  fs::create_directories(junior_dir);
  std::mt19937_64 rng(options.seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  const double head = std::min(options.width, options.height) * 0.7;
  for (std::size_t s = 0; s < counts.size(); ++s) {
    const auto& spec = isbi_layout::splits[s];
    const auto image_dir = isbi_layout::images_dir(root, spec.folder);
    fs::create_directories(image_dir);
    for (int i = 0; i < counts[s]; ++i) {
      const auto id = detail::three_digits(spec.first + i);
      // The head moves by up to 8% of its size, so a mean shape is a poor guess.
      const double cx = options.width / 2.0 + 0.08 * head * u(rng), cy = options.height / 2.0 + 0.08 * head * u(rng);
      std::vector<point> senior;
      for (const auto& t : synthetic::isbi_template)
        senior.push_back({std::round(cx + (t.x - 0.55) * head + 0.01 * head * u(rng)),
                          std::round(cy + (t.y - 0.6) * head + 0.01 * head * u(rng))});
      cv::Mat image(options.height, options.width, CV_8UC1, cv::Scalar(25));
      cv::ellipse(image, cv::Point(static_cast<int>(cx), static_cast<int>(cy)),
                  cv::Size(static_cast<int>(head * 0.5), static_cast<int>(head * 0.55)), 0, 0, 360, cv::Scalar(80), cv::FILLED);
      for (std::size_t k = 0; k < senior.size(); ++k)  // each landmark a ring of its own brightness
        cv::circle(image, cv::Point(static_cast<int>(senior[k].x), static_cast<int>(senior[k].y)), 3,
                   cv::Scalar(140 + 5 * static_cast<double>(k)), 1);
      if (!cv::imwrite((image_dir / (id + ".bmp")).string(), image))
        throw std::runtime_error("cannot write " + (image_dir / (id + ".bmp")).string());
      auto junior = senior;
      for (auto& p : junior) p = {p.x + options.junior_offset.x, p.y + options.junior_offset.y};
      synthetic::write_isbi_points(senior_dir / (id + ".txt"), senior, options.crlf);
      synthetic::write_isbi_points(junior_dir / (id + ".txt"), junior, options.crlf);
    }
  }
}

}  // namespace mixtrain::data
