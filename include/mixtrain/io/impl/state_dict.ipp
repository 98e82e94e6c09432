#pragma once
// Definitions of the functions declared in <mixtrain/io/state_dict.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/io/state_dict.hpp>

namespace mixtrain::io {

MIXTRAIN_COLD std::string apply_name_map(const std::string& name, const name_map& rewrites) {
  for (const auto& r : rewrites)
    if (std::string_view(name).substr(0, r.from.size()) == r.from) return r.to + name.substr(r.from.size());
  return name;
}

namespace state_dict_detail {

MIXTRAIN_COLD std::string shape_text(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

MIXTRAIN_COLD std::string quoted(const std::filesystem::path& path) { return "'" + path.string() + "'"; }

}  // namespace state_dict_detail

MIXTRAIN_COLD tensor_map load_tensor_file(const std::filesystem::path& path) {
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

MIXTRAIN_COLD void save_tensor_file(const tensor_map& tensors, const std::filesystem::path& path) {
  c10::Dict<std::string, torch::Tensor> dict;
  // Detached, contiguous CPU copies: the file must not depend on autograd or device.
  for (const auto& [name, tensor] : tensors) dict.insert(name, tensor.detach().to(torch::kCPU).contiguous());
  const auto bytes = torch::pickle_save(torch::IValue(dict));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot open tensor file " + state_dict_detail::quoted(path) + " for writing");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) throw std::runtime_error("cannot write tensor file " + state_dict_detail::quoted(path));
}

MIXTRAIN_COLD tensor_map module_tensors(const torch::nn::Module& module) {
  tensor_map out;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) out.emplace(p.key(), p.value());
  for (const auto& b : module.named_buffers(/*recurse=*/true)) out.emplace(b.key(), b.value());
  return out;
}

MIXTRAIN_COLD load_report load_state_dict(torch::nn::Module& module, const tensor_map& tensors,
                                          const load_options& options) {
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

MIXTRAIN_COLD load_report load_state_dict_file(torch::nn::Module& module, const std::filesystem::path& path,
                                               const load_options& options) {
  const auto tensors = load_tensor_file(path);
  try {
    return load_state_dict(module, tensors, options);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(state_dict_detail::quoted(path) + ": " + e.what());
  }
}

}  // namespace mixtrain::io
