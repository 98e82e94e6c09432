#pragma once
// Small inline-SVG charts for report.html: line charts (one circle per point,
// optional step curve and vertical markers) and bar charts with error
// whiskers. Plain strings, no JavaScript, no external references (inline SVG
// in HTML needs no xmlns), so a report opens anywhere, offline. Elements carry
// stable classes and data- attributes (data-chart, class "pt", class "bar"
// with data-label) that tests read back.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/core.h>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::io {

// Text for HTML content and attribute values alike.
MIXTRAIN_COLD std::string html_escape(std::string_view text);

// Colour-blind-safe palette (Okabe-Ito order, darkened where too light on white).
inline constexpr std::array<std::string_view, 7> chart_palette = {"#0072b2", "#d55e00", "#009e73", "#cc79a7",
                                                                  "#e69f00", "#56b4e9", "#6a3d9a"};

// An axis from lo to hi with ticks every `step`; step is 1, 2 or 5 times a
// power of ten, so tick labels are round numbers.
struct axis_scale {
  double lo = 0, hi = 1, step = 1;
  [[nodiscard]] std::vector<double> ticks() const {
    std::vector<double> out;
    const auto count = static_cast<int>(std::floor((hi - lo) / step + 1e-9));
    for (int i = 0; i <= count; ++i) out.push_back(lo + i * step);
    return out;
  }
};

// The smallest round step giving at most about `target` intervals over
// [lo, hi], and the range widened to whole steps. A degenerate range (one
// value, or none finite) is widened around its value first.
MIXTRAIN_COLD axis_scale nice_axis(double lo, double hi, int target = 5, double min_step = 0);

// A tick label with as many decimals as the step needs; very small or large
// values in exponent form (learning rates).
MIXTRAIN_COLD std::string tick_label(double value, double step);

// The drawing area: outer size and the margins that hold ticks and labels.
struct chart_box {
  double width = 380, height = 230;
  double left = 58, right = 14, top = 30, bottom = 42;
  [[nodiscard]] double plot_width() const { return width - left - right; }
  [[nodiscard]] double plot_height() const { return height - top - bottom; }
};

struct line_series {
  std::string name;
  std::vector<double> x, y;
  std::string colour;  // empty: the palette's next colour
  bool points = true;   // one <circle class="pt"> per finite point
  bool step = false;    // horizontal, then vertical (a cumulative curve)
};

struct line_chart_spec {
  std::string id, title, x_label, y_label;
  std::vector<line_series> series;
  chart_box box{};
  std::optional<double> y_min, y_max;     // fixed ends (e.g. 0 and 100 for percentages)
  bool integer_x = false;                 // epochs: whole-number ticks only
  std::vector<std::pair<double, std::string>> x_markers;  // dashed vertical lines with a label
};

namespace svg_detail {

MIXTRAIN_COLD std::string num(double v);

// The frame shared by both chart kinds: title, grid lines, y ticks, axis labels.
MIXTRAIN_COLD std::string open_chart(std::string_view kind, const std::string& id, const std::string& title,
                                     const chart_box& b);

MIXTRAIN_COLD std::string y_axis(const axis_scale& y, const chart_box& b, const std::string& label);

}  // namespace svg_detail

// A line chart. Each series' y range (and fixed ends) sets the y axis; x from
// the data. Non-finite values break the line and get no point.
MIXTRAIN_COLD std::string line_chart(const line_chart_spec& spec);

struct bar_chart_spec {
  std::string id, title, y_label;
  std::vector<std::string> labels;
  std::vector<double> values, errors;  // errors: whisker half-length (e.g. SD); may be empty
  chart_box box{1180, 300, 58, 14, 30, 70};  // plot height 200; the bottom holds turned labels
  std::optional<double> reference;     // a dashed horizontal line (e.g. the baseline MRE)
  std::string reference_label;
  std::string colour = std::string(chart_palette[0]);
};

// Bars from zero, one <rect class="bar" data-label=...> per label; the y axis
// runs from 0 to the round number above every bar, whisker and reference, so
// a bar's height is value / axis top * plot height.
MIXTRAIN_COLD std::string bar_chart(const bar_chart_spec& spec);

}  // namespace mixtrain::io

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/io/impl/svg_chart.ipp>
#endif
