#pragma once
// The Aariz data source for recipes (data/aariz_reader.hpp's layout) on the
// shared landmark-image pipeline (data/landmark_images.hpp).
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <mixtrain/augment/affine.hpp>
#include <mixtrain/augment/intensity.hpp>
#include <mixtrain/data/aariz_reader.hpp>
#include <mixtrain/data/landmark_images.hpp>

namespace mixtrain::data {

// The Aariz layout (data/aariz_reader.hpp).
template <aariz_config C = aariz_config{}, class... Augments>
struct aariz : landmark_images<C, Augments...> {
  static constexpr std::string_view name = "aariz";

  // Reads one split; the landmark set comes from the data (checked across splits).
  split read_split(const std::filesystem::path& root, const std::string& split_name, landmark_set& landmarks) const {
    return read_aariz_split(root, split_name, landmarks);
  }

  [[nodiscard]] nlohmann::json describe() const {
    auto j = landmark_images<C, Augments...>::describe();
    j["name"] = name;
    return j;
  }
};

}  // namespace mixtrain::data
