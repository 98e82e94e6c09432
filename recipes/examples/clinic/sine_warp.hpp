#pragma once
// A user augmentation, written outside the library: a smooth non-affine warp
// (a "general" augmentation in the sense of mixtrain/augment/concepts.hpp:
// image and points in, image and points out).
//
//   clinic::sine_warp<{.amplitude = 0.02, .wavelength = 0.5}>
//
// The output image samples the input through a displacement field D:
//   out(q) = in(q + D(q)),  D(q) = A (sin(k q.y + a), sin(k q.x + b)),  k = 2 pi / wavelength,
// with A and the wavelength in fractions of the image's shorter side and the
// phases a, b random per sample. A point p of the input therefore appears at
// the q that solves q + D(q) = p; q = p - D(q) is a contraction when
// A k < 1 (checked at compile time, with margin), so fixed-point iteration
// from q = p converges to it geometrically. The same field moves pixels and
// landmarks, so they stay consistent; points pushed outside count as missing.
// The warp is random per sample, so it offers no invert() for test-time
// augmentation (augment::has_inverse_v is false).
#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <mixtrain/data/annotation.hpp>

namespace clinic {

struct sine_warp_config {
  double amplitude = 0.02;   // displacement amplitude, fraction of the shorter image side
  double wavelength = 0.5;   // fraction of the shorter image side
  double probability = 1.0;  // chance that a sample is warped at all
};

// The field of one sample, in pixels.
struct sine_field {
  double amplitude = 0;
  double k = 0;  // 2 pi / wavelength
  double phase_x = 0, phase_y = 0;

  [[nodiscard]] mixtrain::data::point displacement(double x, double y) const {
    return {amplitude * std::sin(k * y + phase_x), amplitude * std::sin(k * x + phase_y)};
  }
  // Where the input point p lies in the warped image: q with q + D(q) = p.
  [[nodiscard]] mixtrain::data::point forward(mixtrain::data::point p) const {
    mixtrain::data::point q = p;
    for (int i = 0; i < 100; ++i) {
      const auto d = displacement(q.x, q.y);
      const mixtrain::data::point next{p.x - d.x, p.y - d.y};
      const double change = std::abs(next.x - q.x) + std::abs(next.y - q.y);
      q = next;
      if (change < 1e-9) break;
    }
    return q;
  }
};

template <sine_warp_config C = sine_warp_config{}>
struct sine_warp {
  static_assert(C.amplitude >= 0 && C.wavelength > 0, "sine_warp: amplitude must not be negative, wavelength must be positive.");
  static_assert(2 * std::numbers::pi * C.amplitude / C.wavelength <= 0.8,
                "sine_warp: 2 pi amplitude / wavelength must be at most 0.8, or the warp folds over itself and cannot "
                "be inverted for the landmarks.");
  static_assert(C.probability >= 0 && C.probability <= 1, "sine_warp: probability must be in [0, 1].");
  static constexpr std::string_view name = "sine_warp";

  sine_warp_config config = C;

  // The field for an image of this size, drawn from rng.
  [[nodiscard]] sine_field sample(std::mt19937_64& rng, int width, int height) const {
    std::uniform_real_distribution<double> phase(0.0, 2 * std::numbers::pi);
    const double side = std::min(width, height);
    sine_field f;
    f.amplitude = config.amplitude * side;
    f.k = 2 * std::numbers::pi / (config.wavelength * side);
    f.phase_x = phase(rng);
    f.phase_y = phase(rng);
    return f;
  }

  void apply(cv::Mat& image, std::vector<mixtrain::data::point>& points, std::mt19937_64& rng) const {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    if (unit(rng) >= config.probability) return;
    const auto field = sample(rng, image.cols, image.rows);
    warp(image, points, field);
  }

  // Deterministic given the field (tests use it directly).
  static void warp(cv::Mat& image, std::vector<mixtrain::data::point>& points, const sine_field& field) {
    cv::Mat map_x(image.size(), CV_32FC1), map_y(image.size(), CV_32FC1);
    for (int y = 0; y < image.rows; ++y) {
      auto* mx = map_x.ptr<float>(y);
      auto* my = map_y.ptr<float>(y);
      for (int x = 0; x < image.cols; ++x) {
        const auto d = field.displacement(x, y);
        mx[x] = static_cast<float>(x + d.x);
        my[x] = static_cast<float>(y + d.y);
      }
    }
    cv::Mat warped;
    cv::remap(image, warped, map_x, map_y, cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0));
    warped.copyTo(image);  // in place: the pipeline's image is a view into its batch
    for (auto& p : points) p = field.forward(p);
  }
};

}  // namespace clinic
