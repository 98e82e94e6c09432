#pragma once
// The Aariz data source for recipes (data/aariz_reader.hpp's layout) on the
// shared landmark-image pipeline (data/landmark_images.hpp).
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <mixtrain/augment/affine.hpp>
#include <mixtrain/augment/intensity.hpp>
#include <mixtrain/core/flag_set.hpp>
#include <mixtrain/data/aariz_reader.hpp>
#include <mixtrain/data/geometry.hpp>
#include <mixtrain/data/landmark_images.hpp>
#include <mixtrain/data/synthetic_aariz.hpp>

namespace mixtrain::data {

// The source's settings: the shared input size and how the two annotators
// merge (aariz_config in landmark_images.hpp is the shared part alone).
struct aariz_source_config {
  input_size image_size = {256, 256};
  data::annotator_merge annotator_merge = data::annotator_merge::mean;  // qualified: the field shares the name
};

// The Aariz layout (data/aariz_reader.hpp).
//   mt::data::aariz<{.image_size = {256, 256}, .annotator_merge = mt::data::annotator_merge::official_rounded}>
template <aariz_source_config C = aariz_source_config{}, class... Augments>
struct aariz : landmark_images<landmark_images_config{.image_size = C.image_size}, Augments...> {
  using base = landmark_images<landmark_images_config{.image_size = C.image_size}, Augments...>;
  static constexpr std::string_view name = "aariz";

  aariz_read_options options{.merge = C.annotator_merge};

  // Reads one split; the landmark set comes from the data (checked across splits).
  split read_split(const std::filesystem::path& root, const std::string& split_name, landmark_set& landmarks) const {
    return read_aariz_split(root, split_name, landmarks, options);
  }

  // `synth`: a synthetic tree in this layout.
  static void write_synthetic(const std::filesystem::path& folder, const synthetic_options& options) {
    write_synthetic_aariz(folder, options);
  }

  [[nodiscard]] nlohmann::json describe() const {
    auto j = base::describe();
    j["name"] = name;
    j["annotator_merge"] = merge_name(options.merge);
    return j;
  }

  // --image_size comes from the shared part; --annotator_merge is this source's.
  void add_flags(flag_set cli) {
    base::add_flags(cli);
    cli.add_option_function(
           "--annotator_merge",
           [this](const std::string& v) {
             options.merge = v == "official_rounded" ? annotator_merge::official_rounded : annotator_merge::mean;
           },
           "ground truth from the two annotators: mean (unrounded) or official_rounded (the mean rounded up to "
           "whole pixels, as the dataset's own loader does)")
        .check(one_of({"mean", "official_rounded"}))
        .default_str(merge_name(C.annotator_merge));
  }

  static std::string merge_name(annotator_merge m) { return m == annotator_merge::official_rounded ? "official_rounded" : "mean"; }
};

}  // namespace mixtrain::data
