#pragma once
// What train and evaluate show about landmarks beyond the radial errors: the
// clinical measurements measured on predictions and on the truth, and
// report.html (curves, per-landmark bars, the cumulative SDR curve, the
// measurement table, the worst images).
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <mixtrain/app/evaluation_files.hpp>
#include <mixtrain/app/gallery.hpp>
#include <mixtrain/app/report_html.hpp>
#include <mixtrain/data/annotation.hpp>
#include <mixtrain/metric/measurement_agreement.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::app {

// Each measurement on the predicted landmarks against the same measurement on
// the annotated ones; the prediction is measured with the truth's presence
// mask, so both sides use the same landmarks.
MIXTRAIN_COLD metric::measurement_agreement measurement_agreement_of(const data::split& set, const data::landmark_set& landmarks,
                                                                      const std::vector<std::vector<data::point>>& predicted);

// Whether any measurement can be computed from this landmark set.
MIXTRAIN_COLD bool has_measurements(const data::landmark_set& landmarks);

MIXTRAIN_COLD report_table measurement_table(const metric::measurement_agreement& agreement, const std::string& caption);

// report.html's inputs for one landmark evaluation.
MIXTRAIN_COLD report_inputs landmark_report(std::string title, const std::filesystem::path& metrics_csv,
                                            const nlohmann::json& metrics, const data::landmark_set& landmarks,
                                            const metric::error_table& errors, const std::vector<gallery_entry>& gallery,
                                            nlohmann::json run_info);

}  // namespace mixtrain::app

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/app/impl/landmark_results.ipp>
#endif
