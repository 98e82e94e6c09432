#pragma once
// Peak device memory from CUDA's caching allocator: what PyTorch's
// torch.cuda.max_memory_allocated and max_memory_reserved read. The free
// functions and the DeviceStats fields are the same in LibTorch 1.13 and 2.x;
// index 0 of a StatArray is the aggregate over the allocator's pools in both.
// Without CUDA (a CPU LibTorch: MIXTRAIN_WITH_CUDA undefined) or on a CPU
// device there is nothing to read and the peak is empty, never a made-up 0.
#include <cstdint>
#include <optional>

#include <torch/torch.h>

#ifdef MIXTRAIN_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace mixtrain {

struct device_memory_peak {
  std::optional<std::int64_t> allocated, reserved;  // bytes
};

// Starts a new peak (before what is to be measured).
inline void reset_device_memory_peak([[maybe_unused]] const torch::Device& device) {
#ifdef MIXTRAIN_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index() < 0 ? 0 : device.index());
#endif
}

inline device_memory_peak read_device_memory_peak([[maybe_unused]] const torch::Device& device) {
#ifdef MIXTRAIN_WITH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index() < 0 ? 0 : device.index());
    return {stats.allocated_bytes[0].peak, stats.reserved_bytes[0].peak};
  }
#endif
  return {};
}

}  // namespace mixtrain
