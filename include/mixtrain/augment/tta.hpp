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
#include <mixtrain/core/separate_compilation.hpp>

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
MIXTRAIN_COLD std::vector<data::affine> tta_views(const tta_config& c, data::input_size input);

// Why a value cannot be a view ("" when it can); the flags' checks.
MIXTRAIN_COLD std::string check_tta_scale(double s);
MIXTRAIN_COLD std::string check_tta_shift(double d);
MIXTRAIN_COLD std::string check_tta_rotation(double r);

}  // namespace mixtrain::augment

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/augment/impl/tta.ipp>
#endif
