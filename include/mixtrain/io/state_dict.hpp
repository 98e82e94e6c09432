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
inline std::string apply_name_map(const std::string& name, const name_map& rewrites) {
  for (const auto& r : rewrites)
    if (std::string_view(name).substr(0, r.from.size()) == r.from) return r.to + name.substr(r.from.size());
  return name;
}

namespace state_dict_detail {

inline std::string shape_text(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

inline std::string quoted(const std::filesystem::path& path) { return "'" + path.string() + "'"; }

}  // namespace state_dict_detail

inline tensor_map load_tensor_file(const std::filesystem::path& path) {
  using state_dict_detail::quoted;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open tensor file " + quoted(path));
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw std::runtime_error("cannot read tensor file " + quoted(path));

  torch::IValue value;
  try {
    value = torch::pickle_load(bytes);
  } catch (const c10::Error& e) {
    throw std::runtime_error("tensor file " + quoted(path) +
                             " is not a torch.save() file (corrupt, or written by a different tool): " +
                             e.what_without_backtrace());
  }
  if (!value.isGenericDict())
    throw std::runtime_error("tensor file " + quoted(path) + " does not hold a dict of tensors (holds " +
                             value.tagKind() + "); export it with scripts/export_pytorch_weights.py");
  tensor_map tensors;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isTensor())
      throw std::runtime_error("tensor file " + quoted(path) + " holds a non-tensor entry" +
                               (entry.key().isString() ? " '" + entry.key().toStringRef() + "'" : std::string()) +
                               "; export it with scripts/export_pytorch_weights.py");
    tensors.emplace(entry.key().toStringRef(), entry.value().toTensor());
  }
  return tensors;
}

inline void save_tensor_file(const tensor_map& tensors, const std::filesystem::path& path) {
  c10::Dict<std::string, torch::Tensor> dict;
  // Detached, contiguous CPU copies: the file must not depend on autograd or device.
  for (const auto& [name, tensor] : tensors) dict.insert(name, tensor.detach().to(torch::kCPU).contiguous());
  const auto bytes = torch::pickle_save(torch::IValue(dict));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot open tensor file " + state_dict_detail::quoted(path) + " for writing");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) throw std::runtime_error("cannot write tensor file " + state_dict_detail::quoted(path));
}

// The module's parameters and buffers by qualified name ("layer1.0.conv1.weight").
inline tensor_map module_tensors(const torch::nn::Module& module) {
  tensor_map out;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) out.emplace(p.key(), p.value());
  for (const auto& b : module.named_buffers(/*recurse=*/true)) out.emplace(b.key(), b.value());
  return out;
}

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

inline load_report load_state_dict(torch::nn::Module& module, const tensor_map& tensors,
                                   const load_options& options = {}) {
  tensor_map source;
  for (const auto& [name, tensor] : tensors) {
    auto renamed = apply_name_map(name, options.rename);
    if (source.count(renamed))
      throw std::runtime_error("state dict: two tensors map to the name '" + renamed + "' after renaming");
    source.emplace(std::move(renamed), tensor);
  }

  const auto targets = module_tensors(module);
  load_report report;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;  // (target, source)
  for (const auto& [name, target] : targets) {
    const auto it = source.find(name);
    if (it == source.end()) {
      report.missing.push_back(name);
    } else if (it->second.sizes() != target.sizes()) {
      report.mismatched.push_back(name + ": file " + state_dict_detail::shape_text(it->second) + " vs module " +
                                  state_dict_detail::shape_text(target));
    } else {
      copies.emplace_back(target, it->second);
    }
  }
  for (const auto& [name, tensor] : source)
    if (!targets.count(name)) report.unexpected.push_back(name);

  // Validate everything before the first copy: strict never loads partially.
  if (options.strict && !report.ok())
    throw std::runtime_error("state dict does not match the module: " + report.describe());

  torch::NoGradGuard no_grad;
  for (auto& [target, tensor] : copies) target.copy_(tensor);  // converts dtype and device
  report.loaded = copies.size();
  return report;
}

// load_tensor_file + load_state_dict; errors name the file.
inline load_report load_state_dict_file(torch::nn::Module& module, const std::filesystem::path& path,
                                        const load_options& options = {}) {
  const auto tensors = load_tensor_file(path);
  try {
    return load_state_dict(module, tensors, options);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(state_dict_detail::quoted(path) + ": " + e.what());
  }
}

}  // namespace mixtrain::io
