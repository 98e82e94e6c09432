#pragma once
// Definitions of the functions declared in <mixtrain/io/weights.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/io/weights.hpp>

namespace mixtrain::io {
namespace weights_detail {

MIXTRAIN_COLD void flatten_archive(torch::serialize::InputArchive& archive, const std::string& prefix, tensor_map& out) {
  for (const auto& key : archive.keys()) {
    c10::IValue value;
    if (archive.try_read(key, value) && value.isTensor()) {
      out.emplace(prefix + key, value.toTensor());
      continue;
    }
    torch::serialize::InputArchive child;
    if (archive.try_read(key, child)) flatten_archive(child, prefix + key + ".", out);
  }
}

}  // namespace weights_detail

MIXTRAIN_COLD tensor_map read_weights(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw std::runtime_error(path.string() + ": weights file does not exist");
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path.string());
    torch::serialize::InputArchive model_archive;
    if (archive.try_read("model", model_archive)) {
      tensor_map tensors;
      weights_detail::flatten_archive(model_archive, "", tensors);
      return tensors;
    }
  } catch (const std::exception&) {
    // not a checkpoint archive: a tensor file below
  }
  return load_tensor_file(path);
}

MIXTRAIN_COLD load_report load_weights(torch::nn::Module& module, const std::filesystem::path& path, bool strict) {
  const auto tensors = read_weights(path);
  try {
    return load_state_dict(module, tensors, {.strict = strict, .rename = {}});
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path.string() + ": " + e.what());
  }
}

}  // namespace mixtrain::io
