#pragma once
// Definitions of the functions declared in <mixtrain/core/trainer_state.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/core/trainer_state.hpp>

namespace mixtrain::detail {

MIXTRAIN_COLD void require_same_run(const std::filesystem::path& checkpoint, const nlohmann::json& stored,
                                    const nlohmann::json& here) {
  if (stored.is_null()) return;
  const auto differences = io::contract_differences(stored, here, {});
  if (differences.empty()) return;
  std::string message = "--resume " + checkpoint.string() +
                        ": this is not the run the checkpoint continues (start a new run from its weights with "
                        "--init_from instead):";
  for (const auto& d : differences) message += "\n  " + d;
  throw std::runtime_error(message);
}

}  // namespace mixtrain::detail
