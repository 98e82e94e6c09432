#pragma once
// Definitions of the functions declared in <mixtrain/augment/noise.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/augment/noise.hpp>

namespace mixtrain::augment::detail {

MIXTRAIN_COLD gaussian_noise::gaussian_noise(double std_dev) {
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

MIXTRAIN_COLD void gaussian_noise::apply(cv::Mat& image, std::uint64_t seed) const {
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

}  // namespace mixtrain::augment::detail
