#pragma once
// Definitions of the functions declared in <mixtrain/app/report.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/app/report.hpp>

namespace mixtrain::app {

MIXTRAIN_COLD nlohmann::json metrics_json(const metric::radial_errors& errors, const metric::radial_errors& baseline,
                                          const data::landmark_set& landmarks, const std::string& split) {
  auto j = metric::to_json(errors.overall());
  j["split"] = split;
  const auto base = baseline.overall();
  j["baseline_mre_mm"] = base.mre_mm;
  j["baseline"] = metric::to_json(base);
  nlohmann::json per = nlohmann::json::object();
  for (std::size_t k = 0; k < landmarks.size(); ++k) per[landmarks.symbols[k]] = metric::to_json(errors.landmark(k));
  j["per_landmark"] = per;
  return j;
}

MIXTRAIN_COLD void print_results_table(std::ostream& out, const metric::radial_errors& errors,
                                       const metric::radial_errors& baseline, const data::landmark_set& landmarks,
                                       const std::string& title) {
  out << "\n" << title << "\n";
  out << fmt::format("{:<10} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}\n", "landmark", "MRE mm", "SD mm", "SDR 2", "SDR 2.5",
                     "SDR 3", "SDR 4");
  auto row = [&](const std::string& name, const metric::radial_summary& s) {
    out << fmt::format("{:<10} {:>8.3f} {:>8.3f} {:>7.1f}% {:>7.1f}% {:>7.1f}% {:>7.1f}%\n", name, s.mre_mm, s.sd_mm,
                       100 * s.sdr[0], 100 * s.sdr[1], 100 * s.sdr[2], 100 * s.sdr[3]);
  };
  for (std::size_t k = 0; k < landmarks.size(); ++k) row(landmarks.symbols[k], errors.landmark(k));
  out << std::string(66, '-') << "\n";
  row("overall", errors.overall());
  row("baseline", baseline.overall());
  out << "(baseline: the training set's mean shape, mapped into each image)\n";
}

MIXTRAIN_COLD void write_json(const std::filesystem::path& path, const nlohmann::json& j) {
  io::write_text_atomically(path, j.dump(2) + "\n");
}

}  // namespace mixtrain::app
