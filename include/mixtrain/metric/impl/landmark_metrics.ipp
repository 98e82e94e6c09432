#pragma once
// Definitions of the functions declared in <mixtrain/metric/landmark_metrics.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/metric/landmark_metrics.hpp>

namespace mixtrain::metric {

MIXTRAIN_COLD radial_summary summarize(const std::vector<double>& errors_mm) {
  radial_summary s;
  s.count = errors_mm.size();
  if (errors_mm.empty()) return s;
  double sum = 0;
  for (double e : errors_mm) sum += e;
  s.mre_mm = sum / static_cast<double>(s.count);
  double squares = 0;
  for (double e : errors_mm) squares += (e - s.mre_mm) * (e - s.mre_mm);
  s.sd_mm = s.count > 1 ? std::sqrt(squares / static_cast<double>(s.count - 1)) : 0.0;
  for (std::size_t t = 0; t < sdr_thresholds_mm.size(); ++t) {
    std::size_t hits = 0;
    for (double e : errors_mm) hits += e <= sdr_thresholds_mm[t] ? 1 : 0;
    s.sdr[t] = static_cast<double>(hits) / static_cast<double>(s.count);
  }
  return s;
}

MIXTRAIN_COLD double radial_error_mm(const data::annotated_image& truth, const std::vector<data::point>& predicted,
                                     std::size_t k) {
  return std::hypot(predicted[k].x - truth.landmarks[k].x, predicted[k].y - truth.landmarks[k].y) * truth.pixel_size_mm;
}

MIXTRAIN_COLD nlohmann::json to_json(const radial_summary& s) {
  return {{"mre_mm", s.mre_mm}, {"sd_mm", s.sd_mm},     {"sdr_2mm", s.sdr[0]}, {"sdr_2_5mm", s.sdr[1]},
          {"sdr_3mm", s.sdr[2]}, {"sdr_4mm", s.sdr[3]}, {"count", s.count}};
}

}  // namespace mixtrain::metric
