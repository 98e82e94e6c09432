#pragma once
// Definitions of the functions declared in <mixtrain/app/landmark_results.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/app/landmark_results.hpp>

namespace mixtrain::app {

MIXTRAIN_COLD metric::measurement_agreement measurement_agreement_of(const data::split& set, const data::landmark_set& landmarks,
                                                                      const std::vector<std::vector<data::point>>& predicted) {
  const metric::cephalometry ceph(landmarks);
  metric::measurement_agreement agreement(ceph.definitions());
  for (std::size_t i = 0; i < set.images.size() && i < predicted.size(); ++i) {
    const auto& image = set.images[i];
    agreement.add(ceph.measure(image.landmarks, image.present, image.pixel_size_mm),
                  ceph.measure(predicted[i], image.present, image.pixel_size_mm));
  }
  return agreement;
}

MIXTRAIN_COLD bool has_measurements(const data::landmark_set& landmarks) {
  const metric::cephalometry ceph(landmarks);
  for (std::size_t k = 0; k < ceph.size(); ++k)
    if (ceph.computable(k)) return true;
  return false;
}

MIXTRAIN_COLD report_table measurement_table(const metric::measurement_agreement& agreement, const std::string& caption) {
  report_table table{caption, {"measurement", "unit", "images", "MAE", "bias", "class agreement"}, {}};
  for (std::size_t d = 0; d < agreement.definitions().size(); ++d) {
    const auto& s = agreement.of(d);
    const auto& definition = agreement.definitions()[d];
    if (s.count == 0 && s.truth_only == 0) continue;  // not measurable on this set
    auto number = [](std::optional<double> v) { return v ? fmt::format("{:.2f}", *v) : std::string("n/a"); };
    table.rows.push_back({definition.name, std::string(metric::unit_name(definition.unit)), std::to_string(s.count),
                          number(s.mae()), number(s.bias()),
                          definition.classes.empty() || !s.accuracy()
                              ? std::string("-")
                              : fmt::format("{:.1f}% ({}/{})", 100 * *s.accuracy(), s.correct, s.classified)});
  }
  return table;
}

MIXTRAIN_COLD report_inputs landmark_report(std::string title, const std::filesystem::path& metrics_csv,
                                            const nlohmann::json& metrics, const data::landmark_set& landmarks,
                                            const metric::error_table& errors, const std::vector<gallery_entry>& gallery,
                                            nlohmann::json run_info) {
  report_inputs in;
  in.title = std::move(title);
  in.metrics_csv = metrics_csv;
  in.evaluation = metrics;
  in.landmark_order = landmarks.symbols;
  in.radial_errors_mm = all_errors(errors);
  in.run_info = std::move(run_info);
  for (const auto& entry : gallery)
    if (!entry.png.empty()) in.thumbnails.push_back({entry.caption, std::string(entry.png.begin(), entry.png.end())});
  return in;
}

}  // namespace mixtrain::app
