#pragma once
// Definitions of the functions declared in <mixtrain/bench/variant_results.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/bench/variant_results.hpp>

namespace mixtrain::bench {

MIXTRAIN_COLD run_result parse_step_output(const std::string& stdout_text) {
  run_result r;
  std::istringstream lines(stdout_text);
  std::string line;
  nlohmann::json found;
  while (std::getline(lines, line)) {
    if (line.empty() || line.front() != '{') continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.value("bench", "") == "step") found = std::move(j);
  }
  if (found.is_null()) {
    r.error = "no 'bench step' JSON line in the output";
    return r;
  }
  if (!found.contains("step_s") || !found["step_s"].is_array() || found["step_s"].empty()) {
    r.error = "the 'bench step' JSON has no step_s times";
    return r;
  }
  r.step_s = found["step_s"].get<std::vector<double>>();
  r.median_step_s = found.value("median_step_s", 0.0);
  r.batch_size = found.value("batch_size", 0);
  r.peak_rss_mb = found.value("peak_rss_mb", 0.0);
  if (found.contains("peak_gpu_mb") && found["peak_gpu_mb"].is_number()) r.peak_gpu_mb = found["peak_gpu_mb"].get<double>();
  if (found.value("data", "") == "pipeline") {
    r.data_wait_fraction = found.value("data_wait_fraction", 0.0);
    r.end_to_end_images_per_s = found.value("end_to_end_images_per_s", 0.0);
  }
  r.raw = std::move(found);
  r.ok = r.median_step_s > 0 && r.batch_size > 0;
  if (!r.ok) r.error = "the 'bench step' JSON lacks median_step_s or batch_size";
  return r;
}

MIXTRAIN_COLD double quantile(std::vector<double> v, double q) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

MIXTRAIN_COLD variant_summary summarise_runs(std::string name, const std::vector<run_result>& runs) {
  variant_summary s;
  s.name = std::move(name);
  std::vector<double> medians, pooled, waits, end_to_end;
  int batch = 0;
  for (const auto& r : runs) {
    if (!r.ok) {
      ++s.runs_failed;
      if (s.error.empty()) s.error = r.error;
      continue;
    }
    ++s.runs_ok;
    medians.push_back(r.median_step_s);
    pooled.insert(pooled.end(), r.step_s.begin(), r.step_s.end());
    batch = r.batch_size;
    s.peak_rss_mb = std::max(s.peak_rss_mb, r.peak_rss_mb);
    if (r.peak_gpu_mb) s.peak_gpu_mb = std::max(s.peak_gpu_mb.value_or(0.0), *r.peak_gpu_mb);
    if (r.data_wait_fraction) waits.push_back(*r.data_wait_fraction);
    if (r.end_to_end_images_per_s) end_to_end.push_back(*r.end_to_end_images_per_s);
  }
  s.ok = !medians.empty();
  if (!s.ok) return s;
  s.median_step_s = quantile(medians, 0.5);
  s.spread_lo_s = *std::min_element(medians.begin(), medians.end());
  s.spread_hi_s = *std::max_element(medians.begin(), medians.end());
  s.p90_step_s = quantile(pooled, 0.9);
  s.images_per_s = batch / s.median_step_s;
  if (!waits.empty()) s.data_wait_fraction = quantile(waits, 0.5);
  if (!end_to_end.empty()) s.end_to_end_images_per_s = quantile(end_to_end, 0.5);
  return s;
}

MIXTRAIN_COLD void set_speedups(std::vector<variant_summary>& all, const std::string& baseline) {
  const auto base = std::find_if(all.begin(), all.end(), [&](const auto& s) { return s.name == baseline; });
  if (base == all.end() || !base->ok) return;
  for (auto& s : all)
    if (s.ok) s.speedup = base->median_step_s / s.median_step_s;
}

MIXTRAIN_COLD std::string label(const variant_summary& s) {
  std::string out;
  for (const auto& [axis, value] : s.axes) out += (out.empty() ? "" : " ") + axis + "=" + value;
  return out.empty() ? s.name : out;
}

MIXTRAIN_COLD nlohmann::json to_json(const variant_summary& s) {
  auto opt = [](const auto& o) { return o ? nlohmann::json(*o) : nlohmann::json(); };
  nlohmann::json axes = nlohmann::json::object();
  for (const auto& [axis, value] : s.axes) axes[axis] = value;
  nlohmann::json j = {{"name", s.name}, {"axes", axes}, {"ok", s.ok}, {"runs_ok", s.runs_ok},
                      {"runs_failed", s.runs_failed}, {"params", opt(s.params)}, {"policies", s.policies},
                      {"build_s", opt(s.build_s)}, {"val_mre", opt(s.val_mre)},
                      {"trained_epochs", opt(s.trained_epochs)}};
  if (!s.error.empty()) j["error"] = s.error;
  if (s.ok) {
    j.update({{"images_per_s", s.images_per_s}, {"median_step_s", s.median_step_s},
              {"spread_step_s", {s.spread_lo_s, s.spread_hi_s}}, {"p90_step_s", s.p90_step_s},
              {"data_wait_fraction", opt(s.data_wait_fraction)},
              {"end_to_end_images_per_s", opt(s.end_to_end_images_per_s)}, {"peak_rss_mb", s.peak_rss_mb},
              {"peak_gpu_mb", opt(s.peak_gpu_mb)}, {"speedup_vs_baseline", opt(s.speedup)}});
  }
  return j;
}

MIXTRAIN_COLD std::string markdown_table(const std::vector<variant_summary>& all, const std::string& baseline) {
  // A peak GPU memory column only when some variant ran on CUDA.
  const bool gpu = std::any_of(all.begin(), all.end(), [](const auto& s) { return s.peak_gpu_mb.has_value(); });
  std::string out = fmt::format(
      "| variant | policies | params | images/s end to end | images/s (step) | step median s (min-max of repeats) | "
      "step p90 s | data wait | peak RSS MB | {}build s | vs baseline | val MRE (epochs) |\n"
      "|---|---|---:|---:|---:|---:|---:|---:|---:|{}---:|---:|---:|\n",
      gpu ? "peak GPU MB | " : "", gpu ? "---:|" : "");
  for (const auto& s : all) {
    std::string policies;
    for (const auto& p : s.policies) policies += (policies.empty() ? "" : ", ") + p.get<std::string>();
    const std::string name = label(s) + (s.name == baseline ? " (baseline)" : "");
    const std::string params = s.params ? fmt::format("{}", *s.params) : "?";
    const std::string build = s.build_s ? fmt::format("{:.0f}", *s.build_s) : "?";
    const std::string trained = s.val_mre ? fmt::format("{:.3f} ({})", *s.val_mre, s.trained_epochs.value_or(0)) : "n/a";
    if (!s.ok) {
      std::string error = s.error;
      std::replace(error.begin(), error.end(), '\n', ' ');
      std::replace(error.begin(), error.end(), '|', '/');
      out += fmt::format("| {} | {} | {} | **failed**: {} | | | | | | {}{} | | {} |\n", name, policies, params, error,
                         gpu ? "| " : "", build, trained);
      continue;
    }
    const std::string gpu_cell =
        !gpu ? "" : (s.peak_gpu_mb ? fmt::format("{:.0f} | ", *s.peak_gpu_mb) : std::string("n/a | "));
    out += fmt::format("| {} | {} | {} | {} | {:.1f} | {:.3f} ({:.3f}-{:.3f}) | {:.3f} | {} | {:.0f} | {}{} | {} | {} |\n", name,
                       policies, params,
                       s.end_to_end_images_per_s ? fmt::format("{:.1f}", *s.end_to_end_images_per_s) : "n/a",
                       s.images_per_s, s.median_step_s, s.spread_lo_s, s.spread_hi_s, s.p90_step_s,
                       s.data_wait_fraction ? fmt::format("{:.0f} %", 100 * *s.data_wait_fraction) : "n/a",
                       s.peak_rss_mb, gpu_cell, build, s.speedup ? fmt::format("{:.2f}x", *s.speedup) : "?", trained);
  }
  return out;
}

MIXTRAIN_COLD std::string svg_bar_chart(const std::vector<variant_summary>& all, const std::string& title) {
  double hi = 0;
  for (const auto& s : all)
    if (s.ok) hi = std::max(hi, s.images_per_s * s.median_step_s / s.spread_lo_s);
  const auto x = io::nice_axis(0, hi > 0 ? hi : 1, 5);
  const double left = 430, width = 380, row = 26, top = 40;
  const double height = top + row * static_cast<double>(all.size()) + 40;
  auto px = [&](double v) { return left + width * (v - x.lo) / (x.hi - x.lo); };
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" font-family=\"sans-serif\" "
      "font-size=\"12\">\n<text x=\"10\" y=\"20\" font-size=\"14\">{}</text>\n",
      left + width + 30, height, io::html_escape(title));
  for (const double t : x.ticks())
    svg += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.0f}\" y2=\"{2:.0f}\" stroke=\"#ddd\"/>"
                       "<text x=\"{0:.1f}\" y=\"{3:.0f}\" text-anchor=\"middle\">{4}</text>\n",
                       px(t), top - 4, height - 30, height - 14, io::tick_label(t, x.step));
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto& s = all[i];
    const double y = top + row * static_cast<double>(i);
    svg += fmt::format("<text x=\"{:.0f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", left - 6, y + row * 0.6,
                       io::html_escape(label(s)));
    if (!s.ok) {
      svg += fmt::format("<text x=\"{:.0f}\" y=\"{:.1f}\" fill=\"#c00\">failed</text>\n", left + 4, y + row * 0.6);
      continue;
    }
    const double lo = s.images_per_s * s.median_step_s / s.spread_hi_s, up = s.images_per_s * s.median_step_s / s.spread_lo_s;
    svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"/>\n", left,
                       y + 4, px(s.images_per_s) - left, row - 8, io::chart_palette[i % io::chart_palette.size()]);
    svg += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#000\"/>\n", px(lo), px(up),
                       y + row / 2, y + row / 2);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{:.1f}</text>\n", px(up) + 4, y + row * 0.6, s.images_per_s);
  }
  svg += fmt::format("<text x=\"{:.0f}\" y=\"{:.0f}\" text-anchor=\"middle\">images/s (median of repeats; line: "
                     "min-max)</text>\n</svg>\n",
                     left + width / 2, height - 2);
  return svg;
}

}  // namespace mixtrain::bench
