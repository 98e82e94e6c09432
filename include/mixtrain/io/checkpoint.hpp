#pragma once
// Checkpoint files. The one place that opens a checkpoint archive and checks
// its preprocessing contract (open_checkpoint), the writer of the parts every
// checkpoint has. The contract is a flat JSON object whose fields come from
// the model, the data source and the task; evaluate and predict refuse a
// checkpoint whose contract differs, listing each field. Files are written
// through io::write_atomically (io/files.hpp): flushed to the disk, never torn.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>
#include <ATen/CPUGeneratorImpl.h>

#include <mixtrain/io/files.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::io {

// Every field that differs, as "field: checkpoint has X, this run has Y";
// fields in `ignored` (e.g. the recipe's name) do not count.
MIXTRAIN_COLD std::vector<std::string> contract_differences(const nlohmann::json& stored, const nlohmann::json& here,
                                                            const std::vector<std::string>& ignored = {"recipe"});

// An opened checkpoint: the archive and its contract.
struct opened_checkpoint {
  std::filesystem::path path;
  torch::serialize::InputArchive archive;
  nlohmann::json contract;

  // Throws, listing every differing field, unless the contract matches.
  MIXTRAIN_COLD void require_contract(const nlohmann::json& here) const;
};

MIXTRAIN_COLD opened_checkpoint open_checkpoint(const std::filesystem::path& path);

// Only the contract (predict reads its preprocessing from it).
MIXTRAIN_COLD nlohmann::json read_contract(const std::filesystem::path& path);

// The parts of every checkpoint: model, optimizer, contract, counters and the
// CPU generator's state; `extra` adds the policies' states.
MIXTRAIN_COLD void write_checkpoint(const std::filesystem::path& path, const torch::nn::Module& model,
                                    const torch::optim::Optimizer& optimizer, const nlohmann::json& contract,
                                    const nlohmann::json& counters,
                                    const std::function<void(torch::serialize::OutputArchive&)>& extra);

// Restores what write_checkpoint wrote; returns the counters.
MIXTRAIN_COLD nlohmann::json read_training_state(opened_checkpoint& opened, torch::optim::Optimizer& optimizer);

MIXTRAIN_COLD void read_model(opened_checkpoint& opened, torch::nn::Module& model);

}  // namespace mixtrain::io

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/io/impl/checkpoint.ipp>
#endif
