#pragma once
// Definitions of the functions declared in <mixtrain/app/evaluation_files.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/app/evaluation_files.hpp>

namespace mixtrain::app {

MIXTRAIN_COLD error_table radial_error_table(const data::split& set, const std::vector<std::vector<data::point>>& predicted) {
  error_table out;
  for (std::size_t i = 0; i < set.images.size(); ++i) out.push_back(metric::image_radial_errors(set.images[i], predicted[i]));
  return out;
}

MIXTRAIN_COLD std::vector<double> all_errors(const error_table& errors) {
  std::vector<double> out;
  for (const auto& row : errors)
    for (double e : row)
      if (!std::isnan(e)) out.push_back(e);
  return out;
}

MIXTRAIN_COLD std::map<std::string, metric::radial_summary> per_device_summaries(const data::split& set, const error_table& errors) {
  std::map<std::string, std::vector<double>> grouped;
  for (std::size_t i = 0; i < set.images.size(); ++i) {
    if (set.images[i].device.empty()) continue;
    auto& group = grouped[set.images[i].device];
    for (double e : errors[i])
      if (!std::isnan(e)) group.push_back(e);
  }
  std::map<std::string, metric::radial_summary> out;
  for (const auto& [device, list] : grouped) out[device] = metric::summarize(list);
  return out;
}

MIXTRAIN_COLD std::size_t images_of_device(const data::split& set, const std::string& device) {
  std::size_t n = 0;
  for (const auto& image : set.images) n += image.device == device ? 1 : 0;
  return n;
}

MIXTRAIN_COLD nlohmann::json per_device_json(const data::split& set, const std::map<std::string, metric::radial_summary>& devices) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [device, s] : devices) {
    j[device] = metric::to_json(s);
    j[device]["images"] = images_of_device(set, device);
  }
  return j;
}

MIXTRAIN_COLD void print_device_table(std::ostream& out, const std::map<std::string, metric::radial_summary>& devices,
                                      const data::split& set) {
  out << "\nper imaging device\n"
      << fmt::format("{:<16} {:>6} {:>8} {:>8} {:>8} {:>8}\n", "device", "images", "MRE mm", "SD mm", "SDR 2", "SDR 4");
  for (const auto& [device, s] : devices)
    out << fmt::format("{:<16} {:>6} {:>8.3f} {:>8.3f} {:>7.1f}% {:>7.1f}%\n", device, images_of_device(set, device),
                       s.mre_mm, s.sd_mm, 100 * s.sdr[0], 100 * s.sdr[3]);
}

namespace evaluation_files_detail {

MIXTRAIN_COLD std::string summary_row_csv(const std::string& name, const metric::radial_summary& s) {
  return fmt::format("{},{},{:.4f},{:.4f},{:.4f},{:.4f},{:.4f},{:.4f}\n", name, s.count, s.mre_mm, s.sd_mm, s.sdr[0],
                     s.sdr[1], s.sdr[2], s.sdr[3]);
}

MIXTRAIN_COLD std::string summary_row_md(const std::string& name, const metric::radial_summary& s) {
  return fmt::format("| {} | {} | {:.3f} | {:.3f} | {:.1f} | {:.1f} | {:.1f} | {:.1f} |\n", name, s.count, s.mre_mm,
                     s.sd_mm, 100 * s.sdr[0], 100 * s.sdr[1], 100 * s.sdr[2], 100 * s.sdr[3]);
}

}  // namespace evaluation_files_detail

MIXTRAIN_COLD std::string per_landmark_csv(const metric::radial_errors& errors, const data::landmark_set& landmarks) {
  std::string out = "landmark,n,mre_mm,sd_mm,sdr_2mm,sdr_2_5mm,sdr_3mm,sdr_4mm\n";
  for (std::size_t k = 0; k < landmarks.size(); ++k)
    out += evaluation_files_detail::summary_row_csv(landmarks.symbols[k], errors.landmark(k));
  return out + evaluation_files_detail::summary_row_csv("overall", errors.overall());
}

MIXTRAIN_COLD std::string per_device_csv(const data::split& set, const std::map<std::string, metric::radial_summary>& devices) {
  std::string out = "device,images,n,mre_mm,sd_mm,sdr_2mm,sdr_2_5mm,sdr_3mm,sdr_4mm\n";
  for (const auto& [device, s] : devices)
    out += fmt::format("{},{},", device, images_of_device(set, device)) +
           evaluation_files_detail::summary_row_csv("", s).substr(1);
  return out;
}

MIXTRAIN_COLD std::string predictions_csv(const data::split& set, const std::vector<std::vector<data::point>>& predicted,
                                          const std::vector<std::vector<float>>& confidences, const data::landmark_set& landmarks,
                                          const error_table& errors) {
  std::string out = "image,landmark,x,y,truth_x,truth_y,error_mm,confidence\n";
  for (std::size_t i = 0; i < set.images.size(); ++i) {
    const auto& image = set.images[i];
    for (std::size_t k = 0; k < landmarks.size() && k < predicted[i].size(); ++k) {
      const bool known = image.present[k] != 0;
      out += fmt::format("{},{},{:.3f},{:.3f},{},{},{},{}\n", image.id, landmarks.symbols[k], predicted[i][k].x,
                         predicted[i][k].y, known ? fmt::format("{:.3f}", image.landmarks[k].x) : "",
                         known ? fmt::format("{:.3f}", image.landmarks[k].y) : "",
                         known ? fmt::format("{:.4f}", errors[i][k]) : "",
                         i < confidences.size() && k < confidences[i].size() ? fmt::format("{:.4f}", confidences[i][k]) : "");
    }
  }
  return out;
}

MIXTRAIN_COLD std::string summary_markdown(const std::string& title, const metric::radial_errors& errors,
                                           const metric::radial_errors& baseline, const data::landmark_set& landmarks,
                                           const data::split& set, const std::map<std::string, metric::radial_summary>& devices) {
  namespace d = evaluation_files_detail;
  std::string out = "# " + title + "\n\n" + fmt::format(fmt::runtime(d::summary_header_md), "");
  out += d::summary_row_md("**overall**", errors.overall());
  out += d::summary_row_md("mean-shape baseline", baseline.overall());
  out += "\n## Per landmark\n\n" + fmt::format(fmt::runtime(d::summary_header_md), "landmark");
  for (std::size_t k = 0; k < landmarks.size(); ++k) out += d::summary_row_md(landmarks.symbols[k], errors.landmark(k));
  if (!devices.empty()) {
    out += "\n## Per imaging device\n\n" + fmt::format(fmt::runtime(d::summary_header_md), "device");
    for (const auto& [device, s] : devices)
      out += d::summary_row_md(fmt::format("{} ({} images)", device, images_of_device(set, device)), s);
  }
  return out;
}

}  // namespace mixtrain::app
