#pragma once
// Definitions of the functions declared in <mixtrain/augment/tta.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/augment/tta.hpp>

namespace mixtrain::augment {

MIXTRAIN_COLD std::vector<data::affine> tta_views(const tta_config& c, data::input_size input) {
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

MIXTRAIN_COLD std::string check_tta_scale(double s) {
  return std::isfinite(s) && s >= 0.5 && s <= 2 ? "" : "a TTA scale must be in [0.5, 2], got " + std::to_string(s);
}

MIXTRAIN_COLD std::string check_tta_shift(double d) {
  return std::isfinite(d) && std::abs(d) <= 64 ? "" : "a TTA shift must be within 64 input pixels, got " + std::to_string(d);
}

MIXTRAIN_COLD std::string check_tta_rotation(double r) {
  return std::isfinite(r) && std::abs(r) <= 45 ? "" : "a TTA rotation must be within 45 degrees, got " + std::to_string(r);
}

}  // namespace mixtrain::augment
