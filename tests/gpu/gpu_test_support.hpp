#pragma once
// What every GPU test file shares: the device and the skip on a machine without CUDA.
#include <torch/torch.h>

#include <catch2/catch.hpp>

namespace gpu_test {

// False, with the warning ctest's SKIP_REGULAR_EXPRESSION turns into Skipped, where no CUDA device is visible.
inline bool cuda_visible() {
  if (torch::cuda::is_available()) return true;
  WARN("skipped: no CUDA device visible (scripts/gpu-check runs these)");
  return false;
}

inline const torch::Device cuda(torch::kCUDA, 0);

}  // namespace gpu_test
