#pragma once
// The Aariz data source spec for recipes: input size and heatmap target
// settings compiled in, plus the augmentations applied to training samples.
#include <string_view>

#include <nlohmann/json.hpp>

#include <mixtrain/augment/affine.hpp>
#include <mixtrain/augment/intensity.hpp>
#include <mixtrain/data/aariz_samples.hpp>
#include <mixtrain/data/geometry.hpp>

namespace mixtrain::data {

struct aariz_config {
  input_size image_size = {256, 256};
  double heatmap_sigma = 2.0;  // in heatmap pixels
  double mean = 0.5;           // input normalisation: (x / 255 - mean) / std_dev
  double std_dev = 0.25;
};

template <aariz_config C = aariz_config{}, class... Augments>
struct aariz {
  static_assert(C.image_size.width > 0 && C.image_size.height > 0 && C.image_size.width % 32 == 0 &&
                    C.image_size.height % 32 == 0,
                "aariz: image_size must be positive multiples of 32 (the models downsample by 32).");
  static_assert(C.heatmap_sigma > 0, "aariz: heatmap_sigma must be positive.");
  static_assert(C.std_dev > 0, "aariz: std_dev must be positive.");
  static_assert(((Augments::name == std::string_view("affine") || Augments::name == std::string_view("intensity")) && ...),
                "aariz: augmentations must be mt::augment::affine<...> or mt::augment::intensity<...>.");
  using is_data_spec = void;
  using augmentations_type = augmentation_list<Augments...>;
  static constexpr std::string_view name = "aariz";

  aariz_config config = C;
  augmentations_type augmentations;

  [[nodiscard]] nlohmann::json describe() const {
    nlohmann::json augments = nlohmann::json::array();
    std::apply([&](const auto&... a) { (augments.push_back(a.name), ...); }, augmentations.augments);
    return {{"name", name},
            {"image_size", {config.image_size.width, config.image_size.height}},
            {"heatmap_sigma", config.heatmap_sigma},
            {"normalisation", {{"mean", config.mean}, {"std", config.std_dev}}},
            {"augmentations", augments}};
  }
};

}  // namespace mixtrain::data
