#pragma once
// report.html: one self-contained page (inline SVG and CSS, no script, no
// network reference) written at the end of `train` and by `evaluate`:
// training curves from metrics.csv, per-landmark errors, the cumulative SDR
// curve, tables given by the caller (measurements) and the worst images as
// embedded thumbnails. Any part whose input is missing is left out with a
// note, so evaluate without a training run still gets a report.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <mixtrain/io/files.hpp>
#include <mixtrain/io/metrics_csv.hpp>
#include <mixtrain/io/svg_chart.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::app {

struct report_table {
  std::string caption;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

struct report_thumbnail {
  std::string caption;
  std::string image;  // encoded PNG (or JPEG) bytes, embedded as a data: URI
};

struct report_inputs {
  std::string title = "mixtrain report";
  std::filesystem::path metrics_csv;   // may be empty or absent (evaluate without a training run)
  nlohmann::json evaluation;           // metrics.json layout (app::metrics_json); may be null
  std::vector<std::string> landmark_order;  // bar order; empty: per_landmark's own (alphabetical) order
  std::vector<double> radial_errors_mm;     // every error, for the cumulative SDR curve
  std::vector<report_table> tables;
  std::vector<report_thumbnail> thumbnails;
  nlohmann::json run_info;             // shown as key/value pairs (command, output folder, ...)
};

// RFC 4648 base64 with padding.
MIXTRAIN_COLD std::string base64_encode(std::string_view bytes);

namespace report_detail {

using io::html_escape;

// How a metrics.csv column is shown: title, unit, scale (fractions as %).
struct column_style {
  std::string title, unit;
  double scale = 1;
  bool percent_range = false;  // y from 0 to 100
  bool from_zero = false;
};

MIXTRAIN_COLD column_style style_of(const std::string& column);

// The order charts appear in: loss, validation metrics, then the rest.
MIXTRAIN_COLD int rank(const std::string& column);

MIXTRAIN_COLD std::string figure(const std::string& svg, const std::string& caption);

MIXTRAIN_COLD std::string training_curves(const io::metrics_log& log);

MIXTRAIN_COLD double number(const nlohmann::json& j, const char* key);

MIXTRAIN_COLD std::string stat(const std::string& label, const std::string& value);

// The headline figures: radial-error summary for landmarks, else the
// evaluation's numeric fields (class metrics) as they are.
MIXTRAIN_COLD std::string summary(const nlohmann::json& e);

MIXTRAIN_COLD std::string table(const report_table& t);

MIXTRAIN_COLD std::string per_landmark(const nlohmann::json& e, const std::vector<std::string>& order);

// The share of errors at or below each distance: exact steps for a few
// thousand errors, a 600-point grid beyond.
MIXTRAIN_COLD std::string cumulative_sdr(const nlohmann::json& e, std::vector<double> errors);

MIXTRAIN_COLD std::string thumbnails(const std::vector<report_thumbnail>& images);

MIXTRAIN_COLD std::string run_info(const nlohmann::json& info);

inline constexpr std::string_view style = R"css(
body{font:14px/1.45 system-ui,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;margin:24px;color:#222;background:#f6f7f9}
h1{font-size:22px;margin:0 0 6px}h2{font-size:17px;margin:26px 0 10px;padding-bottom:4px;border-bottom:1px solid #d9dde3}
.note{color:#666;font-style:italic}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:14px}
.grid.wide{grid-template-columns:minmax(380px,760px)}
.card{background:#fff;border:1px solid #e2e5ea;margin:0;padding:8px}
.chart-card{border-color:#b8c4d4}
figcaption{font-size:12px;color:#555;margin-top:4px}
svg.chart{display:block;width:100%;height:auto}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.stat{background:#fff;border:1px solid #e2e5ea;padding:6px 14px;min-width:110px}
.stat span{font-size:12px;color:#666}.stat b{display:block;font-size:19px}
table{border-collapse:collapse;background:#fff;margin:8px 0 14px;font-size:13px}
caption{text-align:left;font-weight:600;padding:4px 0}
th,td{border:1px solid #dde1e6;padding:3px 9px;text-align:right}th{background:#eef1f5}
th:first-child,td:first-child{text-align:left}
details summary{cursor:pointer;color:#345}
.thumbs{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:12px}
.thumbs img{display:block;width:100%;height:auto}
)css";

}  // namespace report_detail

MIXTRAIN_COLD std::string render_report_html(const report_inputs& in);

// Whole-file replacement, so a reader never sees half a report.
MIXTRAIN_COLD void write_report_html(const std::filesystem::path& path, const report_inputs& in);

}  // namespace mixtrain::app

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/app/impl/report_html.ipp>
#endif
