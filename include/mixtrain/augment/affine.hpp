#pragma once
// Random rotation, scale and shift about the input centre. It contributes a
// matrix that the pipeline fuses with the letterbox into one warp per sample.
#include <random>
#include <string_view>

#include <mixtrain/data/geometry.hpp>

namespace mixtrain::augment {

struct interval {
  double low = 1;
  double high = 1;
};

struct affine_config {
  double rotate_deg = 10;          // uniform in [-rotate_deg, rotate_deg]
  interval scale = {0.9, 1.1};     // uniform zoom factor
  double shift_fraction = 0.05;    // uniform shift, as a fraction of the input size
};

template <affine_config C = affine_config{}>
struct affine {
  static_assert(C.rotate_deg >= 0 && C.rotate_deg <= 180, "affine: rotate_deg must be between 0 and 180 degrees.");
  static_assert(C.scale.low > 0 && C.scale.low <= C.scale.high,
                "affine: scale must be an interval {low, high} with 0 < low <= high.");
  static_assert(C.shift_fraction >= 0 && C.shift_fraction < 0.5, "affine: shift_fraction must be in [0, 0.5).");
  static constexpr std::string_view name = "affine";
  static constexpr bool is_geometric = true;

  affine_config config = C;

  [[nodiscard]] double largest_scale() const { return config.scale.high; }

  [[nodiscard]] data::affine sample(std::mt19937_64& rng, data::input_size input) const {
    std::uniform_real_distribution<double> unit(-1.0, 1.0);
    std::uniform_real_distribution<double> zoom(config.scale.low, config.scale.high);
    const double angle = config.rotate_deg * unit(rng);
    const double scale = zoom(rng);
    const double dx = config.shift_fraction * input.width * unit(rng);
    const double dy = config.shift_fraction * input.height * unit(rng);
    return data::about_centre(input, angle, scale, dx, dy);
  }
};

}  // namespace mixtrain::augment
