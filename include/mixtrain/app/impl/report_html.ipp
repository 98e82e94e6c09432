#pragma once
// Definitions of the functions declared in <mixtrain/app/report_html.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/app/report_html.hpp>

namespace mixtrain::app {

MIXTRAIN_COLD std::string base64_encode(std::string_view bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const auto byte = [&](std::size_t k) { return k < bytes.size() ? static_cast<unsigned char>(bytes[k]) : 0u; };
    const unsigned v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out += alphabet[v >> 18 & 63];
    out += alphabet[v >> 12 & 63];
    out += i + 1 < bytes.size() ? alphabet[v >> 6 & 63] : '=';
    out += i + 2 < bytes.size() ? alphabet[v & 63] : '=';
  }
  return out;
}

namespace report_detail {

MIXTRAIN_COLD column_style style_of(const std::string& column) {
  if (column == "train_loss") return {"training loss", "loss"};
  if (column == "lr") return {"learning rate", "lr"};
  if (column == "images_per_s") return {"training speed", "images/s", 1, false, true};
  if (column == "data_wait_fraction") return {"data wait", "% of training time", 100, false, true};
  if (column == "epoch_s") return {"epoch time", "s", 1, false, true};
  std::string title = column.rfind("val_", 0) == 0 ? "validation " + column.substr(4) : column;
  std::replace(title.begin(), title.end(), '_', ' ');
  if (column == "val_mre") return {"validation MRE", "mm"};
  if (column == "val_sd") return {"validation SD", "mm"};
  if (column.rfind("val_sdr_", 0) == 0 && column.size() > 10 && column.ends_with("mm")) {
    std::string mm = column.substr(8, column.size() - 10);  // "2_5"
    std::replace(mm.begin(), mm.end(), '_', '.');
    return {"validation SDR " + mm + " mm", "%", 100, true};
  }
  if (column.find("accuracy") != std::string::npos) return {title, "%", 100, true};
  return {title, ""};
}

MIXTRAIN_COLD int rank(const std::string& column) {
  if (column == "train_loss") return 0;
  if (column.rfind("val_", 0) == 0) return 1;
  if (column == "lr") return 2;
  if (column == "images_per_s") return 3;
  if (column == "data_wait_fraction") return 4;
  return 5;
}

MIXTRAIN_COLD std::string figure(const std::string& svg, const std::string& caption) {
  return "<figure class=\"card chart-card\">" + svg + "<figcaption>" + caption + "</figcaption></figure>\n";
}

MIXTRAIN_COLD std::string training_curves(const io::metrics_log& log) {
  const auto epoch = log.find("epoch");
  if (log.rows() == 0 || epoch < 0)
    return "<p class=\"note\">No training curves: metrics.csv is absent or has no complete row (an evaluation "
           "without a training run).</p>\n";
  std::vector<std::size_t> order;
  for (std::size_t c = 0; c < log.columns.size(); ++c)
    if (static_cast<std::ptrdiff_t>(c) != epoch) order.push_back(c);
  std::stable_sort(order.begin(), order.end(),
                   [&](auto a, auto b) { return rank(log.columns[a]) < rank(log.columns[b]); });
  const auto& x = log.values[static_cast<std::size_t>(epoch)];
  std::string out = "<div class=\"grid\">\n";
  for (const auto c : order) {
    const auto& name = log.columns[c];
    const auto style = style_of(name);
    io::line_series s;
    s.name = name, s.x = x, s.y = log.values[c];
    for (auto& v : s.y) v *= style.scale;
    io::line_chart_spec spec;
    spec.id = name, spec.title = style.title, spec.x_label = "epoch", spec.y_label = style.unit;
    spec.series.push_back(s);
    spec.integer_x = true;
    if (style.percent_range) spec.y_min = 0, spec.y_max = 100;
    if (style.from_zero) spec.y_min = 0;
    // The caption: last value, and the best one for validation error metrics.
    std::string caption = fmt::format("<code>{}</code>", html_escape(name));
    if (std::isfinite(s.y.back())) caption += fmt::format(" &middot; last {:.4g}", s.y.back());
    const bool lower_is_better = name == "val_mre" || name == "val_sd" || name.find("loss") != std::string::npos ||
                                 name.find("entropy") != std::string::npos;
    const bool higher_is_better = style.percent_range;
    if (lower_is_better || higher_is_better) {
      std::size_t best = s.y.size();
      for (std::size_t i = 0; i < s.y.size(); ++i)
        if (std::isfinite(s.y[i]) && (best == s.y.size() || (lower_is_better ? s.y[i] < s.y[best] : s.y[i] > s.y[best])))
          best = i;
      if (best < s.y.size()) caption += fmt::format(" &middot; best {:.4g} (epoch {:g})", s.y[best], x[best]);
    }
    out += figure(io::line_chart(spec), caption);
  }
  return out + "</div>\n";
}

MIXTRAIN_COLD double number(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : NAN;
}

MIXTRAIN_COLD std::string stat(const std::string& label, const std::string& value) {
  return "<div class=\"stat\"><span>" + html_escape(label) + "</span><b>" + html_escape(value) + "</b></div>";
}

MIXTRAIN_COLD std::string summary(const nlohmann::json& e) {
  if (!e.is_object()) return "<p class=\"note\">No evaluation results.</p>\n";
  std::string out = "<div class=\"cards\">";
  if (e.contains("mre_mm")) {
    out += stat("MRE", fmt::format("{:.3f} mm", number(e, "mre_mm")));
    out += stat("SD", fmt::format("{:.3f} mm", number(e, "sd_mm")));
    for (const auto* key : {"sdr_2mm", "sdr_2_5mm", "sdr_3mm", "sdr_4mm"}) {
      std::string label = std::string(key).substr(4);
      label = "SDR " + label.substr(0, label.size() - 2) + " mm";
      std::replace(label.begin(), label.end(), '_', '.');
      out += stat(label, fmt::format("{:.1f} %", 100 * number(e, key)));
    }
    if (e.contains("baseline_mre_mm")) out += stat("mean-shape baseline MRE", fmt::format("{:.3f} mm", number(e, "baseline_mre_mm")));
    if (e.contains("count")) out += stat("landmarks measured", e["count"].dump());
  }
  for (const auto& [key, value] : e.items()) {
    if (e.contains("mre_mm") && key != "split") continue;
    if (value.is_number()) out += stat(key, fmt::format("{:.4g}", value.get<double>()));
    else if (value.is_string()) out += stat(key, value.get<std::string>());
  }
  if (e.contains("classes") && e["classes"].is_object())
    for (const auto& [key, value] : e["classes"].items())
      if (value.is_number()) out += stat("classes: " + key, fmt::format("{:.4g}", value.get<double>()));
  return out + "</div>\n";
}

MIXTRAIN_COLD std::string table(const report_table& t) {
  std::string out = "<table>";
  if (!t.caption.empty()) out += "<caption>" + html_escape(t.caption) + "</caption>";
  if (!t.header.empty()) {
    out += "<thead><tr>";
    for (const auto& h : t.header) out += "<th>" + html_escape(h) + "</th>";
    out += "</tr></thead>";
  }
  out += "<tbody>";
  for (const auto& row : t.rows) {
    out += "<tr>";
    for (const auto& cell : row) out += "<td>" + html_escape(cell) + "</td>";
    out += "</tr>";
  }
  return out + "</tbody></table>\n";
}

MIXTRAIN_COLD std::string per_landmark(const nlohmann::json& e, const std::vector<std::string>& order) {
  if (!e.is_object() || !e.contains("per_landmark") || !e["per_landmark"].is_object()) return {};
  const auto& per = e["per_landmark"];
  std::vector<std::string> names = order;
  if (names.empty())
    for (const auto& [key, value] : per.items()) names.push_back(key);
  io::bar_chart_spec spec;
  spec.id = "per_landmark_mre", spec.title = "mean radial error per landmark (bar) \xC2\xB1 SD (whisker)", spec.y_label = "mm";
  report_table rows{"per landmark", {"landmark", "MRE mm", "SD mm", "SDR 2 mm", "SDR 2.5 mm", "SDR 3 mm", "SDR 4 mm", "count"}, {}};
  for (const auto& name : names) {
    if (!per.contains(name)) continue;
    const auto& l = per[name];
    spec.labels.push_back(name);
    spec.values.push_back(number(l, "mre_mm"));
    spec.errors.push_back(number(l, "sd_mm"));
    rows.rows.push_back({name, fmt::format("{:.3f}", number(l, "mre_mm")), fmt::format("{:.3f}", number(l, "sd_mm")),
                         fmt::format("{:.1f} %", 100 * number(l, "sdr_2mm")),
                         fmt::format("{:.1f} %", 100 * number(l, "sdr_2_5mm")),
                         fmt::format("{:.1f} %", 100 * number(l, "sdr_3mm")),
                         fmt::format("{:.1f} %", 100 * number(l, "sdr_4mm")), l.value("count", nlohmann::json()).dump()});
  }
  if (spec.labels.empty()) return {};
  // The overall MRE as the reference line: always on the bars' scale (the
  // baseline's tens of mm would flatten them).
  if (e.contains("mre_mm"))
    spec.reference = number(e, "mre_mm"), spec.reference_label = fmt::format("overall MRE {:.3f} mm", number(e, "mre_mm"));
  return "<h2>Per-landmark error</h2>\n" +
         figure(io::bar_chart(spec), fmt::format("{} landmarks", spec.labels.size())) +
         "<details><summary>table</summary>" + table(rows) + "</details>\n";
}

MIXTRAIN_COLD std::string cumulative_sdr(const nlohmann::json& e, std::vector<double> errors) {
  std::erase_if(errors, [](double v) { return !std::isfinite(v); });
  io::line_chart_spec spec;
  spec.id = "cumulative_sdr", spec.title = "cumulative success detection rate";
  spec.x_label = "radial error (mm)", spec.y_label = "% of landmarks within";
  spec.y_min = 0, spec.y_max = 100;
  spec.box = {760, 320, 58, 14, 30, 42};
  for (const double t : {2.0, 2.5, 3.0, 4.0}) spec.x_markers.emplace_back(t, fmt::format("{:g}", t));
  io::line_series s;
  s.name = "model";
  std::string caption;
  if (!errors.empty()) {
    std::sort(errors.begin(), errors.end());
    const double n = static_cast<double>(errors.size());
    const double p99 = errors[static_cast<std::size_t>(0.99 * (n - 1))];
    const double x_max = std::max(5.0, p99);
    s.step = true, s.points = false;
    s.x.push_back(0), s.y.push_back(0);
    if (errors.size() <= 3000) {
      for (std::size_t i = 0; i < errors.size() && errors[i] <= x_max; ++i)
        s.x.push_back(errors[i]), s.y.push_back(100 * static_cast<double>(i + 1) / n);
    } else {
      for (int g = 1; g <= 600; ++g) {
        const double at = x_max * g / 600;
        s.x.push_back(at);
        s.y.push_back(100 * static_cast<double>(std::upper_bound(errors.begin(), errors.end(), at) - errors.begin()) / n);
      }
    }
    s.x.push_back(x_max), s.y.push_back(s.y.back());  // carry the last step to the axis end
    caption = fmt::format("{} errors; x axis up to the 99th percentile ({:.2f} mm)", errors.size(), p99);
  } else if (e.is_object() && e.contains("sdr_2mm")) {
    for (const auto& [t, key] : {std::pair{2.0, "sdr_2mm"}, {2.5, "sdr_2_5mm"}, {3.0, "sdr_3mm"}, {4.0, "sdr_4mm"}})
      s.x.push_back(t), s.y.push_back(100 * number(e, key));
    caption = "from the four SDR thresholds (no individual errors given)";
  } else {
    return {};
  }
  spec.series.push_back(s);
  return "<h2>Cumulative SDR</h2>\n<div class=\"grid wide\">" + figure(io::line_chart(spec), caption) + "</div>\n";
}

MIXTRAIN_COLD std::string thumbnails(const std::vector<report_thumbnail>& images) {
  if (images.empty()) return {};
  std::string out = "<h2>Worst images</h2>\n<div class=\"thumbs\">\n";
  for (const auto& t : images) {
    const bool jpeg = t.image.size() > 2 && static_cast<unsigned char>(t.image[0]) == 0xFF &&
                      static_cast<unsigned char>(t.image[1]) == 0xD8;
    out += fmt::format("<figure class=\"card\"><img src=\"data:image/{};base64,{}\" alt=\"{}\"><figcaption>{}</figcaption></figure>\n",
                       jpeg ? "jpeg" : "png", base64_encode(t.image), html_escape(t.caption), html_escape(t.caption));
  }
  return out + "</div>\n";
}

MIXTRAIN_COLD std::string run_info(const nlohmann::json& info) {
  if (!info.is_object() || info.empty()) return {};
  report_table t{"", {}, {}};
  for (const auto& [key, value] : info.items()) {
    std::string text = value.is_string() ? value.get<std::string>() : value.dump();
    if (text.size() > 300) text = text.substr(0, 297) + "...";
    t.rows.push_back({key, text});
  }
  return "<details class=\"run\"><summary>run</summary>" + table(t) + "</details>\n";
}

}  // namespace report_detail

MIXTRAIN_COLD std::string render_report_html(const report_inputs& in) {
  namespace d = report_detail;
  const auto log = io::read_metrics_csv(in.metrics_csv);
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
                     d::html_escape(in.title) + "</title>\n<style>" + std::string(d::style) + "</style>\n</head>\n<body>\n";
  html += "<h1>" + d::html_escape(in.title) + "</h1>\n" + d::run_info(in.run_info);
  html += "<h2>Results</h2>\n" + d::summary(in.evaluation);
  html += "<h2>Training</h2>\n" + d::training_curves(log);
  html += d::per_landmark(in.evaluation, in.landmark_order);
  html += d::cumulative_sdr(in.evaluation, in.radial_errors_mm);
  for (auto t : in.tables) {  // the caption as the section heading
    html += "<h2>" + d::html_escape(t.caption.empty() ? "table" : t.caption) + "</h2>\n";
    t.caption.clear();
    html += d::table(t);
  }
  html += d::thumbnails(in.thumbnails);
  return html + "</body>\n</html>\n";
}

MIXTRAIN_COLD void write_report_html(const std::filesystem::path& path, const report_inputs& in) {
  io::write_text_atomically(path, render_report_html(in));
}

}  // namespace mixtrain::app
