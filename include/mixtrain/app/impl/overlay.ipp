#pragma once
// Definitions of the functions declared in <mixtrain/app/overlay.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/app/overlay.hpp>

namespace mixtrain::app {

MIXTRAIN_COLD cv::Scalar error_colour(double error_mm) {
  if (error_mm <= 2.0) return {80, 200, 60};    // green
  if (error_mm <= 4.0) return {0, 210, 255};    // yellow
  return {60, 60, 235};                         // red
}

MIXTRAIN_COLD int overlay_unit(const cv::Size& size) { return std::max(2, std::min(size.width, size.height) / 300); }

MIXTRAIN_COLD cv::Mat draw_landmarks(const cv::Mat& gray, const std::vector<std::string>& symbols,
                                     const std::vector<data::point>& predicted, const overlay_truth& truth) {
  cv::Mat out;
  if (gray.channels() == 1) cv::cvtColor(gray, out, cv::COLOR_GRAY2BGR);
  else out = gray.clone();
  const int unit = overlay_unit(out.size());
  const double font = 0.35 * unit;
  auto at = [](const data::point& p) { return cv::Point(static_cast<int>(std::lround(p.x)), static_cast<int>(std::lround(p.y))); };
  for (std::size_t k = 0; k < predicted.size(); ++k) {
    const auto p = at(predicted[k]);
    cv::Scalar colour = prediction_colour;
    const bool has_truth = truth.points != nullptr && k < truth.points->size() &&
                           (truth.present == nullptr || (*truth.present)[k] != 0);
    if (has_truth) {
      const auto& t = (*truth.points)[k];
      const double px = std::hypot(predicted[k].x - t.x, predicted[k].y - t.y);
      colour = error_colour(px * (truth.pixel_size_mm > 0 ? truth.pixel_size_mm : 0.1));
      cv::line(out, at(t), p, colour, std::max(1, unit / 2), cv::LINE_AA);
      cv::drawMarker(out, at(t), truth_colour, cv::MARKER_CROSS, 4 * unit, std::max(1, unit / 2), cv::LINE_AA);
    }
    cv::circle(out, p, 2 * unit, colour, -1, cv::LINE_AA);
    if (k < symbols.size())
      cv::putText(out, symbols[k], p + cv::Point(3 * unit, -2 * unit), cv::FONT_HERSHEY_SIMPLEX, font, colour,
                  std::max(1, unit / 2), cv::LINE_AA);
  }
  return out;
}

MIXTRAIN_COLD cv::Mat crop_thumbnail(const cv::Mat& image, const data::point& centre, int half, int side) {
  const int x0 = std::clamp(static_cast<int>(std::lround(centre.x)) - half, 0, std::max(0, image.cols - 1));
  const int y0 = std::clamp(static_cast<int>(std::lround(centre.y)) - half, 0, std::max(0, image.rows - 1));
  const int x1 = std::clamp(static_cast<int>(std::lround(centre.x)) + half, x0 + 1, image.cols);
  const int y1 = std::clamp(static_cast<int>(std::lround(centre.y)) + half, y0 + 1, image.rows);
  cv::Mat out;
  const cv::Mat crop = image(cv::Rect(x0, y0, x1 - x0, y1 - y0));
  const double scale = static_cast<double>(side) / std::max(crop.cols, crop.rows);
  cv::resize(crop, out, cv::Size(std::max(1, static_cast<int>(crop.cols * scale)), std::max(1, static_cast<int>(crop.rows * scale))),
             0, 0, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

MIXTRAIN_COLD cv::Mat fit_width(const cv::Mat& image, int width) {
  if (image.cols <= width) return image;
  cv::Mat out;
  const double scale = static_cast<double>(width) / image.cols;
  cv::resize(image, out, cv::Size(width, std::max(1, static_cast<int>(image.rows * scale))), 0, 0, cv::INTER_AREA);
  return out;
}

MIXTRAIN_COLD std::vector<std::uint8_t> encode_png(const cv::Mat& image) {
  std::vector<std::uint8_t> bytes;
  if (!cv::imencode(".png", image, bytes)) throw std::runtime_error("cannot encode a PNG overlay");
  return bytes;
}

MIXTRAIN_COLD void write_png(const std::filesystem::path& path, const cv::Mat& image) {
  const auto bytes = encode_png(image);
  io::write_text_atomically(path, std::string(bytes.begin(), bytes.end()));
}

}  // namespace mixtrain::app
