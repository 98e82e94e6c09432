#pragma once
// Checkpoint files: atomic writes (temporary file, then rename: never a torn
// file) and the preprocessing contract that every checkpoint carries, so that
// evaluate and predict apply exactly what training used.
#include <cstdio>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace mixtrain::io {

struct preprocessing_contract {
  std::string recipe;
  std::string model;
  std::vector<std::string> symbols;
  int input_width = 0;
  int input_height = 0;
  std::string geometry = "letterbox: aspect-preserving scale, centred, zero padding";
  double mean = 0;
  double std_dev = 1;
  int in_channels = 1;
  int heatmap_stride = 4;
  double heatmap_sigma = 2;
  std::string decoder;

  friend bool operator==(const preprocessing_contract&, const preprocessing_contract&) = default;

  [[nodiscard]] nlohmann::json to_json() const {
    return {{"recipe", recipe},           {"model", model},           {"symbols", symbols},
            {"input_size", {input_width, input_height}},               {"geometry", geometry},
            {"normalisation", {{"mean", mean}, {"std", std_dev}}},     {"in_channels", in_channels},
            {"heatmap_stride", heatmap_stride}, {"heatmap_sigma", heatmap_sigma}, {"decoder", decoder}};
  }

  static preprocessing_contract from_json(const nlohmann::json& j) {
    preprocessing_contract c;
    c.recipe = j.at("recipe");
    c.model = j.at("model");
    c.symbols = j.at("symbols").get<std::vector<std::string>>();
    c.input_width = j.at("input_size").at(0);
    c.input_height = j.at("input_size").at(1);
    c.geometry = j.at("geometry");
    c.mean = j.at("normalisation").at("mean");
    c.std_dev = j.at("normalisation").at("std");
    c.in_channels = j.at("in_channels");
    c.heatmap_stride = j.at("heatmap_stride");
    c.heatmap_sigma = j.at("heatmap_sigma");
    c.decoder = j.at("decoder");
    return c;
  }

  // Every field that differs, as "field: checkpoint X, here Y"; empty if none.
  [[nodiscard]] std::vector<std::string> differences(const preprocessing_contract& here) const {
    std::vector<std::string> out;
    const auto mine = to_json(), theirs = here.to_json();
    for (const auto& [key, value] : mine.items())
      if (theirs.at(key) != value) out.push_back(key + ": checkpoint has " + value.dump() + ", this run has " + theirs.at(key).dump());
    return out;
  }
};

// Reads only the contract of a checkpoint written by the trainer.
inline preprocessing_contract read_contract(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw std::runtime_error(path.string() + ": checkpoint file does not exist");
  torch::serialize::InputArchive archive;
  c10::IValue value;
  try {
    archive.load_from(path.string());
    archive.read("contract", value);
  } catch (const c10::Error& e) {
    const std::string what = e.what();
    throw std::runtime_error(path.string() + ": not a mixtrain checkpoint (" + what.substr(0, what.find('\n')) + ")");
  }
  return preprocessing_contract::from_json(nlohmann::json::parse(value.toStringRef()));
}

// Writes through `writer` into a temporary sibling, then renames over `path`:
// a reader sees the old file or the new one, never a partial one.
inline void write_atomically(const std::filesystem::path& path,
                             const std::function<void(const std::filesystem::path&)>& writer) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  const auto temporary = std::filesystem::path(path.string() + ".partial");
  try {
    writer(temporary);
    std::filesystem::rename(temporary, path);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw;
  }
}

}  // namespace mixtrain::io
