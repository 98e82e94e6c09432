#pragma once
// Folders of labelme JSON files (data/labelme_reader.hpp's layout) as a data
// source for recipes, on the shared landmark-image pipeline
// (data/landmark_images.hpp), exactly as data::aariz and data::isbi2015 are:
//
//   mt::data::labelme<{.image_size = {256, 256}}, mt::augment::affine<{}>, ...>
//   mt::data::labelme<{.pixel_size_mm = 0.1, .repeated = mt::data::repeated_labels::reject}>
//
// Splits: train, valid, test (folders under --dataset_path). What a split's
// files did that the reader tolerated (repeated or missing labels, non-point
// shapes) is printed as one warning line per split read.
#include <cmath>
#include <filesystem>
#include <iostream>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include <mixtrain/core/flag_set.hpp>
#include <mixtrain/data/annotation.hpp>
#include <mixtrain/data/geometry.hpp>
#include <mixtrain/data/labelme_reader.hpp>
#include <mixtrain/data/landmark_images.hpp>
#include <mixtrain/data/synthetic_aariz.hpp>
#include <mixtrain/data/synthetic_labelme.hpp>

namespace mixtrain::data {

struct labelme_config {
  input_size image_size = {256, 256};
  double pixel_size_mm = 0.1;  // labelme stores none: give your detector's
  repeated_labels repeated = repeated_labels::average;
};

template <labelme_config C = labelme_config{}, class... Augments>
struct labelme : landmark_images<landmark_images_config{.image_size = C.image_size}, Augments...> {
  static_assert(C.pixel_size_mm > 0, "labelme: pixel_size_mm must be positive.");
  using base = landmark_images<landmark_images_config{.image_size = C.image_size}, Augments...>;
  static constexpr std::string_view name = "labelme";

  labelme_read_options options{.pixel_size_mm = C.pixel_size_mm, .repeated = C.repeated};
  std::ostream* warnings = &std::cerr;  // where a split's labelme_report goes (null: nowhere)

  split read_split(const std::filesystem::path& root, const std::string& split_name, landmark_set& landmarks) const {
    auto read = read_labelme_split(root, split_name, landmarks, options);
    if (warnings && !read.report.empty()) *warnings << read.report.warning() << "\n" << std::flush;
    return std::move(read.data);
  }

  // What `synth`'s options ask of the labelme writer: symbols.txt and the three splits.
  static synthetic_labelme_options synthetic_labelme_options_for(const synthetic_options& o) {
    return {.train_images = o.train_images,
            .valid_images = o.valid_images,
            .test_images = o.test_images,
            .min_side = o.min_side,
            .max_side = o.max_side,
            .symbols_file = true,
            .seed = o.seed};
  }

  // `synth` (app/cli.hpp) writes this source's layout.
  static void write_synthetic(const std::filesystem::path& folder, const synthetic_options& o) {
    (void)write_synthetic_labelme(folder, synthetic_labelme_options_for(o));
  }

  [[nodiscard]] nlohmann::json describe() const {
    auto j = base::describe();
    j["name"] = name;
    j["layout"] = "{train,valid,test}/*.json (labelme point shapes; imagePath relative to the JSON), optional symbols.txt";
    j["splits"] = {"train", "valid", "test"};
    j["pixel_size_mm"] = options.pixel_size_mm;
    j["repeated_labels"] = options.repeated == repeated_labels::reject ? "reject" : "average";
    return j;
  }

  // --image_size comes from the shared part; --pixel_size_mm and --repeated_labels are this source's.
  void add_flags(flag_set cli) {
    base::add_flags(cli);
    cli.add_option_function(
           "--pixel_size_mm", [this](double v) { options.pixel_size_mm = v; },
           "millimetres per pixel of every image (labelme stores none; a DICOM image's own spacing wins)")
        .check([](const std::string& v) -> std::string {
          try {
            const double x = std::stod(v);
            return x > 0 && std::isfinite(x) ? "" : "must be a positive number of millimetres, got " + v;
          } catch (...) {
            return "must be a number, got '" + v + "'";
          }
        })
        .default_str(nlohmann::json(C.pixel_size_mm).dump());
    cli.add_option_function(
           "--repeated_labels",
           [this](const std::string& v) { options.repeated = v == "reject" ? repeated_labels::reject : repeated_labels::average; },
           "a label marked twice in one file: average (the mean, counted in the warning) or reject (an error naming the file)")
        .check(one_of({"average", "reject"}))
        .default_str(C.repeated == repeated_labels::reject ? "reject" : "average");
  }
};

}  // namespace mixtrain::data
