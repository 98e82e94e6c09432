#pragma once
// Tensor files shared with PyTorch, and loading them into LibTorch modules.
//
// File format: what Python's `torch.save(dict_of_tensors, f)` writes (the zip
// pickle format, the default since PyTorch 1.6), read with torch::pickle_load.
// save_tensor_file writes the same format, so `torch.load` reads it back.
// scripts/export_pytorch_weights.py turns training checkpoints into such files.
//
// load_state_dict matches tensors to a module's parameters and buffers by
// name, after optional prefix rewrites. Strict mode (the default) validates
// everything first and throws without touching the module if anything is
// missing, unexpected or mis-shaped; non-strict mode loads what matches and
// reports the rest.
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <torch/torch.h>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::io {

// Sorted by name so reports and saved files are deterministic.
using tensor_map = std::map<std::string, torch::Tensor>;

// Rewrites a name that starts with `from` to start with `to` instead; an empty
// `to` strips the prefix (e.g. {"module.", ""} for DataParallel checkpoints).
struct prefix_rewrite {
  std::string from;
  std::string to;
};
using name_map = std::vector<prefix_rewrite>;

// The first matching rewrite applies; names without a match stay as they are.
MIXTRAIN_COLD std::string apply_name_map(const std::string& name, const name_map& rewrites);

namespace state_dict_detail {

MIXTRAIN_COLD std::string shape_text(const torch::Tensor& t);

MIXTRAIN_COLD std::string quoted(const std::filesystem::path& path);

}  // namespace state_dict_detail

MIXTRAIN_COLD tensor_map load_tensor_file(const std::filesystem::path& path);

MIXTRAIN_COLD void save_tensor_file(const tensor_map& tensors, const std::filesystem::path& path);

// The module's parameters and buffers by qualified name ("layer1.0.conv1.weight").
MIXTRAIN_COLD tensor_map module_tensors(const torch::nn::Module& module);

struct load_report {
  std::vector<std::string> missing;     // in the module, not in the file
  std::vector<std::string> unexpected;  // in the file, not in the module
  std::vector<std::string> mismatched;  // "name: file [..] vs module [..]"
  std::size_t loaded = 0;

  bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }

  std::string describe() const {
    std::ostringstream out;
    out << loaded << " tensors loaded, " << missing.size() << " missing, " << unexpected.size()
        << " unexpected, " << mismatched.size() << " mis-shaped";
    auto list = [&](const char* what, const std::vector<std::string>& names) {
      for (const auto& n : names) out << "\n  " << what << ": " << n;
    };
    list("missing", missing);
    list("unexpected", unexpected);
    list("mis-shaped", mismatched);
    return out.str();
  }
};

struct load_options {
  bool strict = true;
  name_map rename = {};  // applied to the file's names before matching
};

MIXTRAIN_COLD load_report load_state_dict(torch::nn::Module& module, const tensor_map& tensors,
                                          const load_options& options = {});

// load_tensor_file + load_state_dict; errors name the file.
MIXTRAIN_COLD load_report load_state_dict_file(torch::nn::Module& module, const std::filesystem::path& path,
                                               const load_options& options = {});

}  // namespace mixtrain::io

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/io/impl/state_dict.ipp>
#endif
