#pragma once
// Test-time augmentation: fixed views of each evaluated image. A view is a
// matrix of the same family as augment::affine's (zoom, shift, rotation about
// the input centre), composed into the letterbox, so the evaluation pipeline
// still warps each view once and the task decodes every view's prediction
// through the exact inverse of its own input transform before the views of an
// image are averaged (task/landmark_heatmaps.hpp's evaluator).
#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <mixtrain/data/geometry.hpp>

namespace mixtrain::augment {

struct tta_config {
  std::vector<double> scales;     // zoom factors (1 gives another identity view)
  std::vector<double> shifts;     // input pixels; each d gives the views (d, 0) and (0, d)
  std::vector<double> rotations;  // degrees, counter-clockwise on screen

  // Off when no view beyond the identity is asked for.
  [[nodiscard]] bool enabled() const { return !scales.empty() || !shifts.empty() || !rotations.empty(); }
  // The "default" preset: 9 views (identity, 2 zooms, 4 shifts, 2 rotations).
  static tta_config preset() { return {{0.95, 1.05}, {-8, 8}, {-3, 3}}; }

  [[nodiscard]] nlohmann::json describe() const {
    return {{"scales", scales}, {"shifts", shifts}, {"rotations", rotations}};
  }
};

// The views' input-from-letterbox matrices: the identity first, then one per
// scale, two per shift, one per rotation. Empty when TTA is off, which the
// pipeline reads as the identity alone.
inline std::vector<data::affine> tta_views(const tta_config& c, data::input_size input) {
  if (!c.enabled()) return {};
  std::vector<data::affine> views{data::affine(1, 0, 0, 0, 1, 0)};
  for (const double s : c.scales) views.push_back(data::about_centre(input, 0, s, 0, 0));
  for (const double d : c.shifts) {
    views.push_back(data::about_centre(input, 0, 1, d, 0));
    views.push_back(data::about_centre(input, 0, 1, 0, d));
  }
  for (const double r : c.rotations) views.push_back(data::about_centre(input, r, 1, 0, 0));
  return views;
}

// Why a value cannot be a view ("" when it can); the flags' checks.
inline std::string check_tta_scale(double s) {
  return std::isfinite(s) && s >= 0.5 && s <= 2 ? "" : "a TTA scale must be in [0.5, 2], got " + std::to_string(s);
}
inline std::string check_tta_shift(double d) {
  return std::isfinite(d) && std::abs(d) <= 64 ? "" : "a TTA shift must be within 64 input pixels, got " + std::to_string(d);
}
inline std::string check_tta_rotation(double r) {
  return std::isfinite(r) && std::abs(r) <= 45 ? "" : "a TTA rotation must be within 45 degrees, got " + std::to_string(r);
}

}  // namespace mixtrain::augment
