#pragma once
// Definitions of the functions declared in <mixtrain/app/inspect.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/app/inspect.hpp>

namespace mixtrain::app {
namespace inspect_detail {

MIXTRAIN_COLD nlohmann::json spread(std::vector<double> v) {
  if (v.empty()) return nullptr;
  std::ranges::sort(v);
  double sum = 0;
  for (const double x : v) sum += x;
  const auto n = v.size();
  const double median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  return {{"min", v.front()}, {"mean", sum / static_cast<double>(n)}, {"median", median}, {"max", v.back()}, {"count", n}};
}

MIXTRAIN_COLD std::string image_file_problem(const std::filesystem::path& path) {
  try {
    (void)data::checked_image_header(path);
    if (auto problem = data::truncation_problem(data::read_file_bytes(path)); !problem.empty())
      return path.string() + ": " + problem;
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

MIXTRAIN_COLD nlohmann::json inspect_split(const data::split& set, const data::landmark_set& landmarks, gaps& overall,
                                           nlohmann::json& errors, bool check_files) {
  nlohmann::json j = {{"status", "read"}, {"images", set.images.size()}};
  std::map<std::string, std::size_t> devices, stages;
  std::map<double, std::size_t> pixel_sizes;
  std::vector<double> widths, heights;
  std::vector<std::size_t> missing(landmarks.size(), 0);
  std::size_t outside = 0, unreadable = 0;
  nlohmann::json outside_list = nlohmann::json::array();
  gaps split_gaps;
  bool devices_known = false;
  for (const auto& image : set.images) {
    devices_known = devices_known || !image.device.empty();
    ++devices[image.device.empty() ? "(unknown)" : image.device];
    ++pixel_sizes[image.pixel_size_mm];
    widths.push_back(image.width);
    heights.push_back(image.height);
    if (image.cvm_stage >= 0) ++stages[std::to_string(image.cvm_stage)];
    split_gaps.add(image);
    overall.add(image);
    for (std::size_t k = 0; k < landmarks.size() && k < image.present.size(); ++k) {
      if (!image.present[k]) {
        ++missing[k];
        continue;
      }
      const auto p = image.landmarks[k];
      if (image.width <= 0 || image.height <= 0) continue;  // size unknown
      if (p.x >= 0 && p.y >= 0 && p.x < image.width && p.y < image.height) continue;
      if (++outside <= outside_examples)
        outside_list.push_back(fmt::format("{}: {} ({:.1f}, {:.1f}) outside {}x{}", image.image_path.filename().string(),
                                           landmarks.symbols[k], p.x, p.y, image.width, image.height));
    }
    if (!check_files) continue;
    if (auto problem = image_file_problem(image.image_path); !problem.empty()) {
      ++unreadable;
      errors.push_back({{"split", set.name}, {"path", image.image_path.string()}, {"message", problem}, {"kind", "image"}});
    }
  }
  if (devices_known) j["devices"] = devices;
  j["width"] = spread(widths);
  j["height"] = spread(heights);
  j["pixel_sizes_mm"] = nlohmann::json::array();
  for (const auto& [mm, n] : pixel_sizes) j["pixel_sizes_mm"].push_back({{"mm", mm}, {"images", n}});
  j["missing"] = nlohmann::json::object();
  std::size_t missing_total = 0;
  for (std::size_t k = 0; k < landmarks.size(); ++k) {
    j["missing"][landmarks.symbols[k]] = missing[k];
    missing_total += missing[k];
  }
  j["missing_total"] = missing_total;
  j["annotator_gap_mm"] = split_gaps.to_json(landmarks);
  j["outside"] = {{"count", outside}, {"examples", outside_list}};
  if (!stages.empty()) j["cvm_stages"] = stages;
  j["unreadable_images"] = unreadable;
  return j;
}

MIXTRAIN_COLD std::string mm(const nlohmann::json& spread, const char* key) {
  return spread.is_null() ? std::string("-") : fmt::format("{:.3f}", spread[key].get<double>());
}

}  // namespace inspect_detail

MIXTRAIN_COLD nlohmann::json inspect_read_splits(std::string_view source, const std::filesystem::path& root,
                                                 const std::vector<const data::split*>& sets, const data::landmark_set& landmarks) {
  inspect_detail::gaps overall;
  nlohmann::json errors = nlohmann::json::array();
  nlohmann::json splits = nlohmann::json::object();
  std::vector<std::string> names;
  for (const auto* set : sets) {
    names.push_back(set->name);
    splits[set->name] = inspect_detail::inspect_split(*set, landmarks, overall, errors, false);
  }
  return {{"source", std::string(source)}, {"root", root.string()}, {"landmarks", landmarks.symbols}, {"split_order", names},
          {"splits", splits}, {"annotator_gap_mm", overall.to_json(landmarks)}, {"errors", errors}};
}

MIXTRAIN_COLD void print_inspection(std::ostream& out, const nlohmann::json& report) {
  using inspect_detail::mm;
  out << fmt::format("dataset {} ({}), {} landmarks\n", report["root"].get<std::string>(),
                     report["source"].get<std::string>(), report["landmarks"].size());
  for (const auto& name : report["split_order"]) {
    const auto& s = report["splits"][name.get<std::string>()];
    const auto status = s["status"].get<std::string>();
    out << "\nsplit " << name.get<std::string>() << ": ";
    if (status == "absent") out << "absent\n";
    if (status == "failed") out << "failed to read: " << s["error"].get<std::string>() << "\n";
    if (status != "read") continue;
    auto span = [](const nlohmann::json& v) {
      return v.is_null() ? std::string("-")
                         : fmt::format("{:g}/{:g}/{:g}", v["min"].get<double>(), v["median"].get<double>(), v["max"].get<double>());
    };
    out << fmt::format("{} images; width {}, height {} px (min/median/max)\n", s["images"].get<std::size_t>(),
                       span(s["width"]), span(s["height"]));
    if (s.contains("devices")) {
      std::string list;
      for (const auto& [device, n] : s["devices"].items())
        list += fmt::format("{}{} ({})", list.empty() ? "" : ", ", device, n.get<std::size_t>());
      out << "  devices: " << list << "\n";
    }
    std::string sizes;
    for (const auto& p : s["pixel_sizes_mm"])
      sizes += fmt::format("{}{:g} ({})", sizes.empty() ? "" : ", ", p["mm"].get<double>(), p["images"].get<std::size_t>());
    out << "  pixel sizes mm: " << sizes << "\n";
    if (s.contains("cvm_stages")) {
      std::string stages;
      for (const auto& [stage, n] : s["cvm_stages"].items())
        stages += fmt::format("{}{} ({})", stages.empty() ? "" : ", ", stage, n.get<std::size_t>());
      out << "  CVM stages: " << stages << "\n";
    }
    out << fmt::format("  outside their image: {}; unreadable image files: {}\n", s["outside"]["count"].get<std::size_t>(),
                       s["unreadable_images"].get<std::size_t>());
    for (const auto& example : s["outside"]["examples"]) out << "    " << example.get<std::string>() << "\n";
    const auto& gap = s["annotator_gap_mm"];
    out << fmt::format("  {:<10} {:>8} {:>14} {:>13}\n", "landmark", "missing", "gap mean mm", "gap max mm");
    for (const auto& symbol : report["landmarks"]) {
      const auto key = symbol.get<std::string>();
      const auto& g = gap.is_null() ? nlohmann::json(nullptr) : gap["per_landmark"][key];
      out << fmt::format("  {:<10} {:>8} {:>14} {:>13}\n", key, s["missing"][key].get<std::size_t>(), mm(g, "mean"), mm(g, "max"));
    }
    const auto& o = gap.is_null() ? nlohmann::json(nullptr) : gap["overall"];
    out << fmt::format("  {:<10} {:>8} {:>14} {:>13}\n", "overall", s["missing_total"].get<std::size_t>(), mm(o, "mean"), mm(o, "max"));
    if (gap.is_null()) out << "  (one annotator per image: no annotator gap)\n";
  }
  const auto& errors = report["errors"];
  out << "\n" << (errors.empty() ? std::string("problems: none") : fmt::format("problems: {}", errors.size())) << "\n";
  for (const auto& e : errors) out << "  " << e["message"].get<std::string>() << "\n";
}

MIXTRAIN_COLD std::string inspection_summary(const nlohmann::json& report) {
  std::string counts, absent;
  std::size_t missing = 0, outside = 0;
  std::set<std::string> devices;
  for (const auto& name : report["split_order"]) {
    const auto key = name.get<std::string>();
    const auto& s = report["splits"][key];
    if (s["status"] != "read") {
      absent += (absent.empty() ? "" : ", ") + key + " " + s["status"].get<std::string>();
      continue;
    }
    counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", key, s["images"].get<std::size_t>());
    missing += s["missing_total"].get<std::size_t>();
    outside += s["outside"]["count"].get<std::size_t>();
    if (s.contains("devices"))
      for (const auto& [device, n] : s["devices"].items()) devices.insert(device);
  }
  std::string text = "data: " + (counts.empty() ? std::string("no split read") : counts + " images");
  if (!absent.empty()) text += " (" + absent + ")";
  if (!devices.empty()) text += fmt::format("; {} devices", devices.size());
  text += fmt::format("\ndata: {} landmarks missing, {} on or just past their image's edge\n", missing, outside);
  const auto& gap = report["annotator_gap_mm"];
  if (gap.is_null() || gap["overall"].is_null())
    text += "annotator floor: unknown (one annotator per image)\n";
  else
    text += fmt::format("annotator floor: the two annotators differ by {:.3f} mm on average (median {:.3f}, max {:.3f}; {} images)\n",
                        gap["overall"]["mean"].get<double>(), gap["overall"]["median"].get<double>(),
                        gap["overall"]["max"].get<double>(), gap["images"].get<std::size_t>());
  const auto& errors = report["errors"];
  if (errors.empty()) text += "problems: none";
  else text += fmt::format("problems: {} (first: {})", errors.size(), errors[0]["message"].get<std::string>());
  return text;
}

}  // namespace mixtrain::app
