#pragma once
// The ISBI 2015 cephalometric challenge as a data source for recipes
// (data/isbi_reader.hpp's layout and splits) on the shared landmark-image
// pipeline (data/landmark_images.hpp), exactly as data::aariz is:
//
//   mt::data::isbi2015<{.image_size = {256, 256}}, mt::augment::affine<{}>, ...>
//   mt::data::isbi2015<{.annotators = mt::data::isbi_annotators::senior}>
//
// Splits: train (TrainingData 001-130), valid (131-150), test (Test1Data),
// test2 (Test2Data). The preprocessing contract is the Aariz source's, so a
// checkpoint's input size carries over; its landmark set (19) does not.
#include <algorithm>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <mixtrain/core/flag_set.hpp>
#include <mixtrain/data/annotation.hpp>
#include <mixtrain/data/geometry.hpp>
#include <mixtrain/data/isbi_reader.hpp>
#include <mixtrain/data/landmark_images.hpp>
#include <mixtrain/data/synthetic_aariz.hpp>
#include <mixtrain/data/synthetic_isbi.hpp>

namespace mixtrain::data {

struct isbi2015_config {
  input_size image_size = {256, 256};
  double pixel_size_mm = 0.1;  // the challenge's, for every image
  isbi_annotators annotators = isbi_annotators::mean;
};

template <isbi2015_config C = isbi2015_config{}, class... Augments>
struct isbi2015 : landmark_images<landmark_images_config{.image_size = C.image_size}, Augments...> {
  static_assert(C.pixel_size_mm > 0, "isbi2015: pixel_size_mm must be positive.");
  using base = landmark_images<landmark_images_config{.image_size = C.image_size}, Augments...>;
  static constexpr std::string_view name = "isbi2015";

  isbi_read_options options{.annotators = C.annotators, .pixel_size_mm = C.pixel_size_mm};

  split read_split(const std::filesystem::path& root, const std::string& split_name, landmark_set& landmarks) const {
    return read_isbi_split(root, split_name, landmarks, options);
  }

  // `synth`: a synthetic tree in this layout. Every image has the same size,
  // as in the challenge (1935x2400 at the defaults: height --max_side, width
  // 0.806 of it but at least --min_side). The layout fixes the split ranges,
  // so counts are capped at them (validation: 20 images, 131-150); test2
  // gets as many images as test.
  static void write_synthetic(const std::filesystem::path& folder, const synthetic_options& o) {
    auto capped = [](int count, const isbi_layout::split_spec& r) { return std::min(count, r.last - r.first + 1); };
    synthetic_isbi_options isbi;
    isbi.train_images = capped(o.train_images, isbi_layout::splits[0]);
    isbi.valid_images = capped(o.valid_images, isbi_layout::splits[1]);
    isbi.test_images = capped(o.test_images, isbi_layout::splits[2]);
    isbi.test2_images = capped(o.test_images, isbi_layout::splits[3]);
    isbi.height = o.max_side;
    isbi.width = std::max(o.min_side, static_cast<int>(0.806 * o.max_side + 0.5));
    isbi.seed = o.seed;
    write_synthetic_isbi(folder, isbi);
  }

  [[nodiscard]] nlohmann::json describe() const {
    auto j = base::describe();
    j["name"] = name;
    j["layout"] = "RawImage/{TrainingData,Test1Data,Test2Data}/NNN.bmp, AnnotationsByMD/{400_senior,400_junior}/NNN.txt";
    j["splits"] = {{"train", "TrainingData 001-130"},
                   {"valid", "TrainingData 131-150"},
                   {"test", "Test1Data 151-300"},
                   {"test2", "Test2Data 301-400"}};
    j["annotators"] = options.annotators == isbi_annotators::senior ? "senior" : "mean";
    j["pixel_size_mm"] = options.pixel_size_mm;
    return j;
  }

  // --image_size comes from the shared part; --annotators is this source's.
  void add_flags(flag_set cli) {
    base::add_flags(cli);
    cli.add_option_function(
           "--annotators",
           [this](const std::string& v) {
             options.annotators = v == "senior" ? isbi_annotators::senior : isbi_annotators::mean;
           },
           "ground truth: mean (of the senior and junior doctors, unrounded) or senior")
        .check(one_of({"mean", "senior"}))
        .default_str(C.annotators == isbi_annotators::senior ? "senior" : "mean");
  }
};

}  // namespace mixtrain::data
