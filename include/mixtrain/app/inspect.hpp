#pragma once
// `inspect`: what a dataset holds, before any training on it. Per split: the
// image count, devices, image and pixel sizes, landmarks missing per symbol,
// the distance between the two annotators (the floor any model is judged
// against), landmarks outside their image, CVM stages and image files that
// would fail to load. Problems are collected, never thrown: one bad split or
// file must not hide the rest of the report. No LibTorch here.
//
// "Outside" is anything outside [0, W) x [0, H): the readers refuse points
// more than 1 px beyond the image, so what is counted here lies within that
// slack (on the edge or just past it).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <exception>
#include <filesystem>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <mixtrain/data/aariz_reader.hpp>
#include <mixtrain/data/annotation.hpp>
#include <mixtrain/data/image_file.hpp>
#include <mixtrain/data/isbi_reader.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::app {

namespace inspect_detail {

inline constexpr std::size_t outside_examples = 5;  // the first few, not thousands of lines

// {min, mean, median, max, count} of the values, or null when there are none.
MIXTRAIN_COLD nlohmann::json spread(std::vector<double> v);

// Annotator gaps in mm, per landmark and over all of them.
struct gaps {
  std::vector<std::vector<double>> per_landmark;
  std::vector<double> all;
  std::size_t images = 0;  // images with both annotators

  void add(const data::annotated_image& image) {
    if (image.annotator_distance_px.empty()) return;
    ++images;
    per_landmark.resize(std::max(per_landmark.size(), image.annotator_distance_px.size()));
    for (std::size_t k = 0; k < image.annotator_distance_px.size(); ++k) {
      const double px = image.annotator_distance_px[k];
      if (std::isnan(px)) continue;  // one annotator left the landmark out
      per_landmark[k].push_back(px * image.pixel_size_mm);
      all.push_back(px * image.pixel_size_mm);
    }
  }
  [[nodiscard]] nlohmann::json to_json(const data::landmark_set& landmarks) const {
    if (images == 0) return nullptr;
    nlohmann::json per = nlohmann::json::object();
    for (std::size_t k = 0; k < landmarks.size(); ++k)
      per[landmarks.symbols[k]] = k < per_landmark.size() ? spread(per_landmark[k]) : nlohmann::json(nullptr);
    return {{"images", images}, {"per_landmark", per}, {"overall", spread(all)}};
  }
};

// Why the image file would fail to load, or empty: the header check the
// readers make, then the whole file for truncation (a cut-off file keeps a
// valid header, and libjpeg would decode it grey-filled without a word).
MIXTRAIN_COLD std::string image_file_problem(const std::filesystem::path& path);

template <class Data>
std::vector<std::string> split_names() {
  std::vector<std::string> names = {"train", "valid", "test"};
  if constexpr (std::string_view(Data::name) == "isbi2015") names.emplace_back("test2");
  return names;
}

// A split simply not in the tree (reported as absent, not as an error);
// known for the Aariz and ISBI layouts, any other source's failures are errors.
template <class Data>
bool split_absent(const std::filesystem::path& root, const std::string& split_name) {
  namespace fs = std::filesystem;
  if constexpr (std::string_view(Data::name) == "aariz") {
    return !fs::is_directory(data::aariz_layout::images_dir(root, split_name));
  } else if constexpr (std::string_view(Data::name) == "isbi2015") {
    const auto spec = std::ranges::find(data::isbi_layout::splits, std::string_view(split_name), &data::isbi_layout::split_spec::name);
    return spec == data::isbi_layout::splits.end() || !fs::is_directory(data::isbi_layout::images_dir(root, spec->folder));
  } else {
    return false;
  }
}

// The report of one split that was read; image-file failures go to `errors`.
MIXTRAIN_COLD nlohmann::json inspect_split(const data::split& set, const data::landmark_set& landmarks, gaps& overall,
                                           nlohmann::json& errors, bool check_files = true);

MIXTRAIN_COLD std::string mm(const nlohmann::json& spread, const char* key);

}  // namespace inspect_detail

// Reads every split the source has (train, valid, test; test2 for isbi2015)
// with one landmark set shared across them, and reports each; see the top of
// this file. `log` gets one line per split as it goes.
template <class Data>
nlohmann::json inspect_dataset(Data& data, const std::filesystem::path& root, std::ostream* log = nullptr) {
  data::landmark_set landmarks;
  inspect_detail::gaps overall;
  nlohmann::json errors = nlohmann::json::array();
  nlohmann::json splits = nlohmann::json::object();
  const auto names = inspect_detail::split_names<Data>();
  for (const auto& name : names) {
    if (inspect_detail::split_absent<Data>(root, name)) {
      splits[name] = {{"status", "absent"}};
      if (log) *log << "inspect: split '" << name << "' is absent\n";
      continue;
    }
    try {
      const auto set = data.read_split(root, name, landmarks);
      if (log) *log << "inspect: split '" << name << "': " << set.images.size() << " images; checking their files\n" << std::flush;
      splits[name] = inspect_detail::inspect_split(set, landmarks, overall, errors);
    } catch (const std::exception& e) {
      const auto* bad = dynamic_cast<const data::data_error*>(&e);
      splits[name] = {{"status", "failed"}, {"error", e.what()}};
      errors.push_back({{"split", name}, {"path", (bad ? bad->file() : root).string()}, {"message", e.what()}, {"kind", "split"}});
      if (log) *log << "inspect: split '" << name << "' failed to read: " << e.what() << "\n";
    }
  }
  return {{"source", std::string(Data::name)},
          {"root", root.string()},
          {"landmarks", landmarks.symbols},
          {"split_order", names},
          {"splits", splits},
          {"annotator_gap_mm", overall.to_json(landmarks)},
          {"errors", errors}};
}

// The same report for splits already read (train logs it before its first
// epoch), without reading the image files again: the readers checked their
// headers, and the pipeline names a damaged file when it meets it.
MIXTRAIN_COLD nlohmann::json inspect_read_splits(std::string_view source, const std::filesystem::path& root,
                                                 const std::vector<const data::split*>& sets, const data::landmark_set& landmarks);

// The report as tables: per split, then per landmark.
MIXTRAIN_COLD void print_inspection(std::ostream& out, const nlohmann::json& report);

// Two to four lines for train's log: images per split, missing landmarks,
// the annotator floor, problems.
MIXTRAIN_COLD std::string inspection_summary(const nlohmann::json& report);

}  // namespace mixtrain::app

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/app/impl/inspect.ipp>
#endif
