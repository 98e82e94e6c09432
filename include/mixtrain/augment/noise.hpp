#pragma once
// Gaussian noise on uint8 images, for photometric augmentations.
#include <array>
#include <cmath>
#include <cstdint>
#include <memory>

#include <opencv2/core.hpp>

namespace mixtrain::augment {

namespace detail {

// Gaussian noise on uint8 in about a nanosecond per pixel: 12 random bits per
// pixel index a table of the rounded Gaussian quantiles (inverse CDF at the
// 4096 bin centres), added with saturation. The random bits come from
// SplitMix64, seeded from the sample's stream.
class gaussian_noise {
 public:
  static constexpr int bits = 12;
  static constexpr int size = 1 << bits;

  explicit gaussian_noise(double std_dev) {
    for (int i = 0; i < size; ++i) {
      const double p = (i + 0.5) / size;
      // Bisection on the normal CDF: exact to double precision, done once per std.
      double lo = -10, hi = 10;
      for (int k = 0; k < 80; ++k) {
        const double mid = 0.5 * (lo + hi);
        (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
      }
      table_[static_cast<std::size_t>(i)] = static_cast<std::int16_t>(std::lround(0.5 * (lo + hi) * std_dev));
    }
  }

  void apply(cv::Mat& image, std::uint64_t seed) const {
    std::uint64_t state = seed;
    auto next = [&state] {
      std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
      return z ^ (z >> 31);
    };
    for (int r = 0; r < image.rows; ++r) {
      auto* row = image.ptr<std::uint8_t>(r);
      int c = 0;
      for (; c + 5 <= image.cols; c += 5) {
        std::uint64_t random = next();
        for (int k = 0; k < 5; ++k, random >>= bits) add(row[c + k], random);
      }
      for (std::uint64_t random = next(); c < image.cols; ++c, random >>= bits) add(row[c], random);
    }
  }

 private:
  void add(std::uint8_t& pixel, std::uint64_t random) const {
    const int v = pixel + table_[static_cast<std::size_t>(random & (size - 1))];
    pixel = static_cast<std::uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
  }

  std::array<std::int16_t, size> table_{};
};

// The table for a noise level, built once per thread and level.
inline const gaussian_noise& noise_for(double std_dev) {
  thread_local double level = -1;
  thread_local std::unique_ptr<gaussian_noise> table;
  if (!table || level != std_dev) {
    table = std::make_unique<gaussian_noise>(std_dev);
    level = std_dev;
  }
  return *table;
}

}  // namespace detail

}  // namespace mixtrain::augment
