#pragma once
// Definitions of the functions declared in <mixtrain/app/policy_flags.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/app/policy_flags.hpp>

namespace mixtrain::app {

MIXTRAIN_COLD std::string multi_gpu_refusal(bool cuda_visible, bool recipe_has_distributed_policy) {
  if (!cuda_visible)
    return "no GPU is visible (this LibTorch has no CUDA, or the machine no device), so there is nothing to map ranks "
           "to; for data parallelism on CPU add mt::policy::distributed to the recipe and pass --nproc N";
  if (!recipe_has_distributed_policy)
    return "this recipe has no data parallelism: add mt::policy::distributed to the recipe (one rank per local GPU, "
           "NCCL) and rebuild";
  return "";
}

namespace policy_flags_detail {

MIXTRAIN_COLD void add(std::vector<policy_flag>& table, std::string_view flag, const std::string& needs) {
  for (auto& entry : table)
    if (entry.flag == flag) {
      if (entry.needs.find(needs) == std::string::npos) entry.needs += " or " + needs;
      return;
    }
  table.push_back({std::string(flag), needs});
}

}  // namespace policy_flags_detail
}  // namespace mixtrain::app
