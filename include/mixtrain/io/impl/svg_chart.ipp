#pragma once
// Definitions of the functions declared in <mixtrain/io/svg_chart.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/io/svg_chart.hpp>

namespace mixtrain::io {

MIXTRAIN_COLD std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

MIXTRAIN_COLD axis_scale nice_axis(double lo, double hi, int target, double min_step) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (hi < lo) std::swap(lo, hi);
  if (hi - lo < 1e-12 * std::max(1.0, std::abs(hi))) {
    const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= pad, hi += pad;
  }
  const double raw = std::max((hi - lo) / std::max(target, 1), min_step);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * magnitude;
  for (const double m : {1.0, 2.0, 5.0, 10.0})
    if (m * magnitude >= raw * (1 - 1e-9)) {
      step = m * magnitude;
      break;
    }
  step = std::max(step, min_step);
  return {std::floor(lo / step + 1e-9) * step, std::ceil(hi / step - 1e-9) * step, step};
}

MIXTRAIN_COLD std::string tick_label(double value, double step) {
  if (std::abs(value) < step * 1e-6) value = 0;  // no "-0"
  const double scale = std::max(std::abs(value), step);
  if (scale != 0 && (scale < 1e-3 || scale >= 1e6)) return fmt::format("{:.2g}", value);
  const int decimals = std::clamp(static_cast<int>(-std::floor(std::log10(step) + 1e-9)), 0, 6);
  return fmt::format("{:.{}f}", value, decimals);
}

namespace svg_detail {

MIXTRAIN_COLD std::string num(double v) { return fmt::format("{:.2f}", v); }

MIXTRAIN_COLD std::string open_chart(std::string_view kind, const std::string& id, const std::string& title,
                                     const chart_box& b) {
  return fmt::format(
      "<svg class=\"chart {}\" data-chart=\"{}\" viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" role=\"img\" "
      "aria-label=\"{}\"><rect class=\"bg\" x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>"
      "<text class=\"title\" x=\"{}\" y=\"18\" font-size=\"13\" font-weight=\"600\" fill=\"#222\">{}</text>",
      kind, html_escape(id), num(b.width), num(b.height), num(b.width), num(b.height), html_escape(title),
      num(b.width), num(b.height), num(b.left), html_escape(title));
}

MIXTRAIN_COLD std::string y_axis(const axis_scale& y, const chart_box& b, const std::string& label) {
  std::string out;
  for (const double t : y.ticks()) {
    const double py = b.top + b.plot_height() * (1 - (t - y.lo) / (y.hi - y.lo));
    out += fmt::format("<line class=\"grid\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#e3e3e3\"/>", num(b.left),
                       num(py), num(b.left + b.plot_width()), num(py));
    out += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\" fill=\"#555\">{}</text>",
                       num(b.left - 5), num(py + 3.5), tick_label(t, y.step));
  }
  out += fmt::format("<line class=\"axis\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#888\"/>", num(b.left),
                     num(b.top), num(b.top + b.plot_height()));
  out += fmt::format("<line class=\"axis\" x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#888\"/>", num(b.left),
                     num(b.top + b.plot_height()), num(b.left + b.plot_width()));
  if (!label.empty())
    out += fmt::format("<text class=\"label\" transform=\"translate(14 {}) rotate(-90)\" font-size=\"11\" "
                       "text-anchor=\"middle\" fill=\"#444\">{}</text>",
                       num(b.top + b.plot_height() / 2), html_escape(label));
  return out;
}

}  // namespace svg_detail

MIXTRAIN_COLD std::string line_chart(const line_chart_spec& spec) {
  using svg_detail::num;
  const auto& b = spec.box;
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (const auto& s : spec.series)
    for (std::size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x_lo = std::min(x_lo, s.x[i]), x_hi = std::max(x_hi, s.x[i]);
      y_lo = std::min(y_lo, s.y[i]), y_hi = std::max(y_hi, s.y[i]);
    }
  if (spec.y_min) y_lo = *spec.y_min;
  if (spec.y_max) y_hi = *spec.y_max;
  const bool has_data = std::isfinite(x_lo) && std::isfinite(y_lo);
  const auto y = nice_axis(has_data ? y_lo : 0, has_data ? y_hi : 1, 4);
  const auto x = nice_axis(has_data ? x_lo : 0, has_data ? x_hi : 1, spec.integer_x ? 6 : 5, spec.integer_x ? 1 : 0);
  auto px = [&](double v) { return b.left + b.plot_width() * (v - x.lo) / (x.hi - x.lo); };
  auto py = [&](double v) { return b.top + b.plot_height() * (1 - (v - y.lo) / (y.hi - y.lo)); };

  std::string out = svg_detail::open_chart("line", spec.id, spec.title, b);
  out += svg_detail::y_axis(y, b, spec.y_label);
  for (const double t : x.ticks())
    out += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
                       num(px(t)), num(b.top + b.plot_height() + 14), tick_label(t, x.step));
  if (!spec.x_label.empty())
    out += fmt::format("<text class=\"label\" x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#444\">{}</text>",
                       num(b.left + b.plot_width() / 2), num(b.height - 6), html_escape(spec.x_label));
  for (const auto& [at, label] : spec.x_markers) {
    if (at < x.lo || at > x.hi) continue;
    out += fmt::format("<line class=\"marker\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#999\" "
                       "stroke-dasharray=\"3 3\"/><text x=\"{3}\" y=\"{4}\" font-size=\"9\" fill=\"#666\">{5}</text>",
                       num(px(at)), num(b.top), num(b.top + b.plot_height()), num(px(at) + 2), num(b.top + 9),
                       html_escape(label));
  }
  if (!has_data)
    out += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" fill=\"#999\">no data</text>",
                       num(b.left + b.plot_width() / 2), num(b.top + b.plot_height() / 2));
  for (std::size_t k = 0; k < spec.series.size(); ++k) {
    const auto& s = spec.series[k];
    const std::string colour = s.colour.empty() ? std::string(chart_palette[k % chart_palette.size()]) : s.colour;
    std::string path;
    bool pen_down = false;
    double last_y = 0;
    for (std::size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
        pen_down = false;
        continue;
      }
      const double X = px(s.x[i]), Y = py(std::clamp(s.y[i], y.lo, y.hi));
      if (pen_down && s.step) path += fmt::format(" L{} {}", num(X), num(last_y));
      path += fmt::format("{}{} {}", pen_down ? " L" : (path.empty() ? "M" : " M"), num(X), num(Y));
      pen_down = true, last_y = Y;
    }
    if (!path.empty())
      out += fmt::format("<path class=\"line\" data-series=\"{}\" d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" "
                         "stroke-linejoin=\"round\"/>",
                         html_escape(s.name), path, colour);
    const double radius = s.x.size() > 60 ? 1.8 : 3;  // dense runs: points must not merge into a band
    if (s.points)
      for (std::size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
        if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
        out += fmt::format("<circle class=\"pt\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"><title>{} {}: {:.6g}</title></circle>",
                           num(px(s.x[i])), num(py(std::clamp(s.y[i], y.lo, y.hi))), radius, colour,
                           html_escape(spec.x_label), tick_label(s.x[i], spec.integer_x ? 1 : 0.001), s.y[i]);
      }
    if (spec.series.size() > 1)  // a legend only when there is something to tell apart
      out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"3\" fill=\"{}\"/><text x=\"{}\" y=\"{}\" "
                         "font-size=\"10\" fill=\"#444\">{}</text>",
                         num(b.left + b.plot_width() - 110), num(b.top + 8 + 13 * k), colour,
                         num(b.left + b.plot_width() - 96), num(b.top + 12 + 13 * k), html_escape(s.name));
  }
  return out + "</svg>";
}

MIXTRAIN_COLD std::string bar_chart(const bar_chart_spec& spec) {
  using svg_detail::num;
  const auto& b = spec.box;
  double top = 0;
  for (std::size_t i = 0; i < spec.values.size(); ++i) {
    const double e = i < spec.errors.size() && std::isfinite(spec.errors[i]) ? spec.errors[i] : 0;
    if (std::isfinite(spec.values[i])) top = std::max(top, spec.values[i] + e);
  }
  if (spec.reference && std::isfinite(*spec.reference)) top = std::max(top, *spec.reference);
  const auto y = nice_axis(0, top > 0 ? top : 1, 5);
  auto py = [&](double v) { return b.top + b.plot_height() * (1 - std::clamp(v, y.lo, y.hi) / y.hi); };

  std::string out = svg_detail::open_chart("bars", spec.id, spec.title, b);
  out += svg_detail::y_axis(y, b, spec.y_label);
  const std::size_t n = std::min(spec.labels.size(), spec.values.size());
  const double slot = b.plot_width() / static_cast<double>(std::max<std::size_t>(n, 1));
  const double width = std::max(2.0, slot * 0.7);
  for (std::size_t i = 0; i < n; ++i) {
    const double v = std::isfinite(spec.values[i]) ? std::max(spec.values[i], 0.0) : 0.0;
    const double x = b.left + slot * static_cast<double>(i) + (slot - width) / 2, cx = x + width / 2;
    const double e = i < spec.errors.size() && std::isfinite(spec.errors[i]) ? spec.errors[i] : 0;
    const auto label = html_escape(spec.labels[i]);
    out += fmt::format("<rect class=\"bar\" data-label=\"{0}\" data-landmark=\"{0}\" data-value=\"{1:.6g}\" x=\"{2}\" "
                       "y=\"{3}\" width=\"{4}\" height=\"{5}\" fill=\"{6}\"><title>{0}: {1:.3f} \xC2\xB1 {7:.3f}</title></rect>",
                       label, v, num(x), num(py(v)), num(width), num(py(0) - py(v)), spec.colour, e);
    if (e > 0)
      out += fmt::format("<path class=\"whisker\" d=\"M{0} {1} L{0} {2} M{3} {1} L{4} {1} M{3} {2} L{4} {2}\" "
                         "stroke=\"#333\" stroke-width=\"1.2\" fill=\"none\"/>",
                         num(cx), num(py(v + e)), num(py(std::max(v - e, 0.0))), num(cx - width / 4), num(cx + width / 4));
    // Labels turn when the slots get narrow (29 landmarks in 1100 px).
    if (slot >= 40)
      out += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\" fill=\"#333\">{}</text>",
                         num(cx), num(py(0) + 14), label);
    else
      out += fmt::format("<text class=\"tick\" transform=\"translate({} {}) rotate(-60)\" font-size=\"10\" "
                         "text-anchor=\"end\" fill=\"#333\">{}</text>",
                         num(cx + 3), num(py(0) + 10), label);
  }
  if (spec.reference && std::isfinite(*spec.reference))
    out += fmt::format("<line class=\"reference\" x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#d55e00\" "
                       "stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/><text x=\"{3}\" y=\"{4}\" font-size=\"10\" "
                       "text-anchor=\"end\" fill=\"#d55e00\" stroke=\"#fff\" stroke-width=\"3\" "
                       "paint-order=\"stroke\">{5}</text>",
                       num(b.left), num(py(*spec.reference)), num(b.left + b.plot_width()),
                       num(b.left + b.plot_width() - 2), num(py(*spec.reference) - 4), html_escape(spec.reference_label));
  return out + "</svg>";
}

}  // namespace mixtrain::io
