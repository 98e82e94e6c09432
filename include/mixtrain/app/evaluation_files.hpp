#pragma once
// The files an evaluation of landmarks leaves in evaluation/<split>/: radial
// errors per image and landmark (the pairs --compare tests), per-device
// summaries, per_landmark.csv, predictions.csv and summary.md.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <mixtrain/data/annotation.hpp>
#include <mixtrain/io/files.hpp>
#include <mixtrain/metric/landmark_metrics.hpp>
#include <mixtrain/metric/paired_comparison.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::app {

using metric::error_table;  // [image][landmark] radial error in mm; NaN where not annotated

MIXTRAIN_COLD error_table radial_error_table(const data::split& set, const std::vector<std::vector<data::point>>& predicted);

// Every annotated error, image by image (the cumulative SDR curve's input).
MIXTRAIN_COLD std::vector<double> all_errors(const error_table& errors);

// Radial summaries per imaging device, when the data names devices.
MIXTRAIN_COLD std::map<std::string, metric::radial_summary> per_device_summaries(const data::split& set, const error_table& errors);

MIXTRAIN_COLD std::size_t images_of_device(const data::split& set, const std::string& device);

MIXTRAIN_COLD nlohmann::json per_device_json(const data::split& set, const std::map<std::string, metric::radial_summary>& devices);

MIXTRAIN_COLD void print_device_table(std::ostream& out, const std::map<std::string, metric::radial_summary>& devices,
                                      const data::split& set);

namespace evaluation_files_detail {
MIXTRAIN_COLD std::string summary_row_csv(const std::string& name, const metric::radial_summary& s);
MIXTRAIN_COLD std::string summary_row_md(const std::string& name, const metric::radial_summary& s);
inline constexpr const char* summary_header_md =
    "| {} | n | MRE mm | SD mm | SDR 2 mm % | SDR 2.5 mm % | SDR 3 mm % | SDR 4 mm % |\n|---|---:|---:|---:|---:|---:|---:|---:|\n";
}  // namespace evaluation_files_detail

// landmark,n,mre_mm,sd_mm,sdr_2mm,sdr_2_5mm,sdr_3mm,sdr_4mm; the last row is "overall".
MIXTRAIN_COLD std::string per_landmark_csv(const metric::radial_errors& errors, const data::landmark_set& landmarks);

// device,images,n,mre_mm,...: one row per imaging device.
MIXTRAIN_COLD std::string per_device_csv(const data::split& set, const std::map<std::string, metric::radial_summary>& devices);

// One row per image and landmark: prediction, truth, error and confidence.
MIXTRAIN_COLD std::string predictions_csv(const data::split& set, const std::vector<std::vector<data::point>>& predicted,
                                          const std::vector<std::vector<float>>& confidences, const data::landmark_set& landmarks,
                                          const error_table& errors);

// summary.md: overall beside the baseline, per landmark, per device.
MIXTRAIN_COLD std::string summary_markdown(const std::string& title, const metric::radial_errors& errors,
                                           const metric::radial_errors& baseline, const data::landmark_set& landmarks,
                                           const data::split& set, const std::map<std::string, metric::radial_summary>& devices);

}  // namespace mixtrain::app

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/app/impl/evaluation_files.ipp>
#endif
