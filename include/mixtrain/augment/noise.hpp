#pragma once
// Gaussian noise on uint8 images, for photometric augmentations.
#include <array>
#include <cmath>
#include <cstdint>
#include <memory>

#include <opencv2/core.hpp>

#include <mixtrain/core/separate_compilation.hpp>

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

  MIXTRAIN_COLD explicit gaussian_noise(double std_dev);

  MIXTRAIN_COLD void apply(cv::Mat& image, std::uint64_t seed) const;

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

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/augment/impl/noise.ipp>
#endif
