#pragma once
// The one geometric transform between an original image and the network input:
// an aspect-preserving letterbox, optionally composed with an augmentation
// affine about the input centre. Predictions go back through its exact inverse.
#include <cmath>

#include <opencv2/core.hpp>

#include <mixtrain/data/annotation.hpp>

namespace mixtrain::data {

struct input_size {
  int width = 256;
  int height = 256;
  friend bool operator==(const input_size&, const input_size&) = default;
};

// 2x3 affine in pixel-centre coordinates (pixel (i, j) has centre (j, i)).
using affine = cv::Matx23d;

inline affine compose(const affine& outer, const affine& inner) {
  const cv::Matx33d a(outer(0, 0), outer(0, 1), outer(0, 2), outer(1, 0), outer(1, 1), outer(1, 2), 0, 0, 1);
  const cv::Matx33d b(inner(0, 0), inner(0, 1), inner(0, 2), inner(1, 0), inner(1, 1), inner(1, 2), 0, 0, 1);
  const cv::Matx33d c = a * b;
  return {c(0, 0), c(0, 1), c(0, 2), c(1, 0), c(1, 1), c(1, 2)};
}

inline affine invert(const affine& m) {
  const double det = m(0, 0) * m(1, 1) - m(0, 1) * m(1, 0);
  const double a = m(1, 1) / det, b = -m(0, 1) / det, c = -m(1, 0) / det, d = m(0, 0) / det;
  return {a, b, -(a * m(0, 2) + b * m(1, 2)), c, d, -(c * m(0, 2) + d * m(1, 2))};
}

inline point apply(const affine& m, point p) {
  return {m(0, 0) * p.x + m(0, 1) * p.y + m(0, 2), m(1, 0) * p.x + m(1, 1) * p.y + m(1, 2)};
}

// Scale so the whole original fits, centred; the rest is padding.
inline double letterbox_scale(int original_width, int original_height, input_size input) {
  return std::min(static_cast<double>(input.width) / original_width, static_cast<double>(input.height) / original_height);
}

inline affine letterbox(int original_width, int original_height, input_size input) {
  const double s = letterbox_scale(original_width, original_height, input);
  // Pixel centres: x_in + 0.5 = s * (x_orig + 0.5) + pad.
  const double pad_x = (input.width - s * original_width) / 2.0;
  const double pad_y = (input.height - s * original_height) / 2.0;
  return {s, 0, pad_x + 0.5 * s - 0.5, 0, s, pad_y + 0.5 * s - 0.5};
}

// Rotation (degrees, counter-clockwise on screen), isotropic scale and shift
// (in input pixels) about the input centre.
inline affine about_centre(input_size input, double rotate_deg, double scale, double shift_x, double shift_y) {
  const double angle = rotate_deg * M_PI / 180.0;
  const double c = std::cos(angle) * scale, s = std::sin(angle) * scale;
  const double cx = (input.width - 1) / 2.0, cy = (input.height - 1) / 2.0;
  return {c, s, cx - c * cx - s * cy + shift_x, -s, c, cy + s * cx - c * cy + shift_y};
}

// Maps pixel centres of an image decoded at 1/factor back to the original:
// x_orig + 0.5 = factor * (x_reduced + 0.5).
inline affine reduced_to_original(double factor) {
  return {factor, 0, 0.5 * factor - 0.5, 0, factor, 0.5 * factor - 0.5};
}

}  // namespace mixtrain::data
