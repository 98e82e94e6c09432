#pragma once
// Brightness, contrast and gamma folded into one 256-entry lookup table per
// sample, plus optional Gaussian noise: all on uint8, no float image. A
// photometric augmentation (augment/concepts.hpp): pixels only.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <string_view>

#include <opencv2/core.hpp>

#include <mixtrain/augment/affine.hpp>
#include <mixtrain/augment/noise.hpp>

namespace mixtrain::augment {

using lookup_table = std::array<std::uint8_t, 256>;

struct intensity_config {
  double brightness = 0.1;          // additive shift, fraction of full scale
  double contrast = 0.15;           // multiplicative factor in [1 - c, 1 + c]
  interval gamma = {0.8, 1.25};
  double noise_std = 0;             // grey levels; 0 disables the noise pass
};

template <intensity_config C = intensity_config{}>
struct intensity {
  static_assert(C.brightness >= 0 && C.brightness <= 1, "intensity: brightness must be in [0, 1].");
  static_assert(C.contrast >= 0 && C.contrast < 1, "intensity: contrast must be in [0, 1).");
  static_assert(C.gamma.low > 0 && C.gamma.low <= C.gamma.high,
                "intensity: gamma must be an interval {low, high} with 0 < low <= high.");
  static_assert(C.noise_std >= 0, "intensity: noise_std must not be negative.");
  static constexpr std::string_view name = "intensity";

  intensity_config config = C;

  void apply(cv::Mat& image, std::mt19937_64& rng) const {
    lookup_table table;
    for (int v = 0; v < 256; ++v) table[static_cast<std::size_t>(v)] = static_cast<std::uint8_t>(v);
    sample(rng, table);
    cv::LUT(image, cv::Mat(1, 256, CV_8UC1, table.data()), image);
    if (config.noise_std > 0) detail::noise_for(config.noise_std).apply(image, rng());
  }

  // Composes this sample's intensity change onto `table`.
  void sample(std::mt19937_64& rng, lookup_table& table) const {
    std::uniform_real_distribution<double> unit(-1.0, 1.0);
    std::uniform_real_distribution<double> log_gamma(std::log(config.gamma.low), std::log(config.gamma.high));
    const double shift = config.brightness * unit(rng);
    const double gain = 1.0 + config.contrast * unit(rng);
    const double gamma = std::exp(log_gamma(rng));
    for (auto& v : table) {
      double x = v / 255.0;
      x = std::pow(x, gamma);
      x = (x - 0.5) * gain + 0.5 + shift;
      v = static_cast<std::uint8_t>(std::clamp(std::lround(x * 255.0), 0L, 255L));
    }
  }
};

}  // namespace mixtrain::augment
