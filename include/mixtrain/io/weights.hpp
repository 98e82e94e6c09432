#pragma once
// Model weights from a file for --init_from: a mixtrain checkpoint (its
// "model" part) or a torch.save() tensor file, as a flat name -> tensor map.
#include <filesystem>
#include <stdexcept>
#include <string>

#include <torch/torch.h>

#include <mixtrain/io/state_dict.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::io {

namespace weights_detail {
// Module::save nests one archive per submodule; this yields dotted names.
MIXTRAIN_COLD void flatten_archive(torch::serialize::InputArchive& archive, const std::string& prefix, tensor_map& out);
}  // namespace weights_detail

MIXTRAIN_COLD tensor_map read_weights(const std::filesystem::path& path);

// Loads weights by name into `module`; strict: throws, loading nothing, and
// lists every missing, unexpected and mis-shaped tensor.
MIXTRAIN_COLD load_report load_weights(torch::nn::Module& module, const std::filesystem::path& path, bool strict);

}  // namespace mixtrain::io

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/io/impl/weights.ipp>
#endif
