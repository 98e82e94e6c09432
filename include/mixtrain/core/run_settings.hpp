#pragma once
// Values of a run that flags may override; structure stays as compiled.
#include <filesystem>
#include <string>

#include <mixtrain/core/recipe.hpp>

namespace mixtrain {

struct run_settings {
  fit_config fit;
  std::filesystem::path dataset_path;
  std::filesystem::path output_dir;
  std::filesystem::path resume;
  std::string recipe_name = "recipe";
  bool skip_bad_samples = false;
  std::string device = "cpu";
  // build() settles `auto` switches (autocast, channels-last) by measurement;
  // commands that run no model (describe) turn it off.
  bool measure_switches = true;
  // A new run from another run's weights (nothing else); strict: every
  // tensor must match by name and shape. The app owns the flags.
  std::filesystem::path init_from;
  bool init_strict = true;
};

}  // namespace mixtrain
