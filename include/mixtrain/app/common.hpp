#pragma once
// What the recipe executable's commands share: which commands a recipe's
// components support (checked with concepts, so a recipe with another task
// or data source still compiles and simply lacks the commands that make no
// sense for it), the dataset-folder check and default landmark sets.
#include <concepts>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <mixtrain/core/flag_set.hpp>
#include <mixtrain/data/annotation.hpp>
#include <mixtrain/data/batch_pipeline.hpp>
#include <mixtrain/data/synthetic_aariz.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::app {

// A data source that reads the Aariz folder layout.
template <class Data>
inline constexpr bool aariz_layout = std::string_view(Data::name) == "aariz";

// A data source that can write a synthetic tree of its own layout: `synth`.
template <class Data>
concept synthetic_layout = requires(const std::filesystem::path& folder, const data::synthetic_options& o) {
  Data::write_synthetic(folder, o);
};

// Predicts a landmark set: describe --num_landmarks, the results table.
template <class Trainer>
concept landmark_recipe = std::same_as<typename Trainer::target_info, data::landmark_set>;

// The Aariz pipeline's parts are reachable: bench data times them alone.
template <class Trainer>
concept aariz_pipeline_recipe =
    landmark_recipe<Trainer> && std::same_as<typename Trainer::sample_set, data::split> &&
    requires(typename Trainer::data_type& d) {
      typename Trainer::data_type::augmentations_type;
      d.augmentations;
      d.config.image_size;
    };

// Host batches of uint8 images with landmarks: bench step makes random ones.
template <class Trainer>
concept landmark_batch_recipe = landmark_recipe<Trainer> &&
                                std::same_as<typename Trainer::data_type::batch_type, data::batch> &&
                                requires(typename Trainer::data_type& d) { d.config.image_size; };

// Reads annotated landmark images into data::split: inspect reports on them.
template <class Trainer>
concept landmark_split_recipe = landmark_recipe<Trainer> && std::same_as<typename Trainer::sample_set, data::split>;

// predict: the landmark set and the input size come from a checkpoint's
// contract, and images without annotations become a split.
template <class Trainer>
concept contract_predict_recipe =
    landmark_recipe<Trainer> && std::same_as<typename Trainer::sample_set, data::split> &&
    requires(typename Trainer::data_type& d, const nlohmann::json& contract, const typename Trainer::evaluation_type& e) {
      { Trainer::task_type::targets_from_contract(contract) } -> std::same_as<data::landmark_set>;
      d.adopt_contract(contract);
      e.predictions[0][0].x;
    };

MIXTRAIN_COLD std::string executable_name(const char* argv0);

template <class Data>
std::string dataset_folder_kind() {
  if constexpr (aariz_layout<Data>) return "an Aariz-layout folder";
  else return "a dataset folder for the data source '" + std::string(Data::name) + "'";
}

template <class Data>
void require_dataset(const std::filesystem::path& path, const std::string& command = "this command") {
  if (path.empty())
    throw flag_error("--dataset_path", "is required for " + command + " (" + dataset_folder_kind<Data>() + ")");
  if (!std::filesystem::is_directory(path))
    throw flag_error("--dataset_path", "'" + path.string() + "' is not a directory");
}

MIXTRAIN_COLD data::landmark_set numbered_landmarks(int count);

MIXTRAIN_COLD data::landmark_set aariz_landmarks();

// Images in a split, where the split type says.
template <class Set>
std::size_t split_size(const Set& set) {
  if constexpr (requires { set.images.size(); }) return set.images.size();
  else if constexpr (requires { set.size(); }) return static_cast<std::size_t>(set.size());
  else return 0;
}

}  // namespace mixtrain::app

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/app/impl/common.ipp>
#endif
