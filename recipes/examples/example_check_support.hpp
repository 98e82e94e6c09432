#pragma once
// Helpers of example_checks.cpp: the EXPECT macro of its checks, a temporary
// folder, small synthetic datasets (Aariz layout and <split>.csv) and the
// dot images whose centres mark where a landmark went.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include <opencv2/core.hpp>

#include <mixtrain/data/aariz_reader.hpp>
#include <mixtrain/data/synthetic_aariz.hpp>

namespace clinic_checks {

namespace mt = mixtrain;
#define EXPECT(condition, ...)                                                          \
  do {                                                                                 \
    if (!(condition)) {                                                                \
      std::cout << "FAILED: " #condition " (" << __FILE__ << ":" << __LINE__ << ") " << __VA_ARGS__ << "\n"; \
      return false;                                                                    \
    }                                                                                  \
  } while (false)

class temporary_directory {
 public:
  temporary_directory() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("mixtrain-example-" + std::to_string(std::random_device{}()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  temporary_directory(const temporary_directory&) = delete;
  temporary_directory& operator=(const temporary_directory&) = delete;
  ~temporary_directory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A small synthetic Aariz-layout dataset (the library's generator).
inline void write_small_aariz(const std::filesystem::path& root, int train, int valid, int min_side, int max_side) {
  mt::data::synthetic_options o;
  o.train_images = train;
  o.valid_images = valid;
  o.test_images = 0;
  o.min_side = min_side;
  o.max_side = max_side;
  o.seed = 11;
  mt::data::write_synthetic_aariz(root, o);
}

// One split as <root>/<split>.csv, image paths relative to root.
inline void write_csv(const std::filesystem::path& root, const mt::data::split& set, const mt::data::landmark_set& landmarks) {
  std::ofstream out(root / (set.name + ".csv"));
  out << "image,pixel_size_mm";
  for (const auto& s : landmarks.symbols) out << "," << s << "_x," << s << "_y";
  out << "\n" << std::setprecision(17);
  for (const auto& image : set.images) {
    out << std::filesystem::relative(image.image_path, root).generic_string() << "," << image.pixel_size_mm;
    for (std::size_t k = 0; k < image.landmarks.size(); ++k) {
      if (image.present[k]) out << "," << image.landmarks[k].x << "," << image.landmarks[k].y;
      else out << ",,";
    }
    out << "\n";
  }
}

// Renders Gaussian dots (sigma in pixels) at the points: a landmark is where its dot is.
inline cv::Mat dots_image(int width, int height, const std::vector<mt::data::point>& points, double sigma) {
  cv::Mat image(height, width, CV_32FC1, cv::Scalar(0));
  for (const auto& p : points)
    for (int y = std::max(0, static_cast<int>(p.y - 4 * sigma)); y <= std::min(height - 1, static_cast<int>(p.y + 4 * sigma) + 1); ++y)
      for (int x = std::max(0, static_cast<int>(p.x - 4 * sigma)); x <= std::min(width - 1, static_cast<int>(p.x + 4 * sigma) + 1); ++x)
        image.at<float>(y, x) += static_cast<float>(
            250.0 * std::exp(-((x - p.x) * (x - p.x) + (y - p.y) * (y - p.y)) / (2 * sigma * sigma)));
  cv::Mat out;
  image.convertTo(out, CV_8UC1);
  return out;
}

// The brightness-weighted centre of the dot near `guess` (a window of +-r pixels).
inline mt::data::point dot_centre(const cv::Mat& image, mt::data::point guess, int r) {
  const int cx = static_cast<int>(std::lround(guess.x)), cy = static_cast<int>(std::lround(guess.y));
  double sum = 0, sx = 0, sy = 0;
  for (int y = std::max(0, cy - r); y <= std::min(image.rows - 1, cy + r); ++y)
    for (int x = std::max(0, cx - r); x <= std::min(image.cols - 1, cx + r); ++x) {
      const double v = image.at<std::uint8_t>(y, x);
      sum += v;
      sx += v * x;
      sy += v * y;
    }
  return sum > 0 ? mt::data::point{sx / sum, sy / sum} : mt::data::point{-1e9, -1e9};
}

inline double distance(mt::data::point a, mt::data::point b) { return std::hypot(a.x - b.x, a.y - b.y); }

}  // namespace clinic_checks
