#pragma once
// NCCL for data parallelism on CUDA devices: one c10d ProcessGroupNCCL per
// rank, each rank on its own GPU (cuda:LOCAL_RANK). Compiled only where it
// can work: the build defines MIXTRAIN_WITH_CUDA (its LibTorch has CUDA,
// cmake/MixtrainGpuCheck.cmake and CMakeLists.txt decide) and both
// ProcessGroupNCCL.hpp and NCCL's own nccl.h are on the include path (a
// Python torch ships the former; nccl.h comes from its nvidia-nccl wheel).
// Elsewhere MIXTRAIN_WITH_NCCL stays undefined, make_nccl_backend does not
// exist and nccl_built() says false, so the CPU build never sees a CUDA or
// NCCL header.
//
// Apart from the Gloo group (core/distributed_group.hpp) so that a program
// can use NCCL without Gloo's headers, which a Python torch does not ship
// (tests/gpu/test_gpu.cpp runs a one-rank group through this header).
#include <chrono>
#include <stdexcept>
#include <string>

#include <torch/torch.h>

#include <mixtrain/core/compat.hpp>

#if defined(MIXTRAIN_WITH_CUDA) && __has_include(<torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>) && \
    __has_include(<nccl.h>)
// As with Gloo: the CMake package of a Python torch does not pass the
// USE_C10D_NCCL its headers are guarded by.
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>
#define MIXTRAIN_WITH_NCCL 1
#endif

namespace mixtrain::distributed {

// Whether this build can make an NCCL group at all.
inline constexpr bool nccl_built() {
#ifdef MIXTRAIN_WITH_NCCL
  return true;
#else
  return false;
#endif
}

// Why NCCL cannot be used here, for refusals (empty when it can).
inline std::string nccl_unavailable_reason() {
#ifdef MIXTRAIN_WITH_NCCL
  return "";
#elif !defined(MIXTRAIN_WITH_CUDA)
  return "this build's LibTorch has no CUDA (MIXTRAIN_WITH_CUDA is not defined), so NCCL is not compiled in";
#else
  return "this CUDA build found no NCCL headers (torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp and nccl.h; a "
         "Python torch's nccl.h is in its nvidia-nccl package: pass its include folder)";
#endif
}

#ifdef MIXTRAIN_WITH_NCCL
// An NCCL group for `rank` of `size` on `device` (a CUDA device). The
// device becomes this thread's current one first: NCCL creates its
// communicator lazily, at the first collective, on the tensors' device, and
// the autograd threads that start gradient buckets inherit nothing else.
// `timeout` bounds each collective: NCCL's watchdog aborts the group (and,
// by TORCH_NCCL_ASYNC_ERROR_HANDLING's default, the process) when one
// outlives it, where Gloo throws from wait() instead.
inline c10::intrusive_ptr<compat::c10d_backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                                                   int size, std::chrono::milliseconds timeout,
                                                                   torch::Device device) {
  if (!device.is_cuda() || !device.has_index())
    throw std::invalid_argument("an NCCL group needs an indexed CUDA device (cuda:N), got '" + device.str() + "'");
  c10::cuda::set_device(device.index());
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
}
#endif

}  // namespace mixtrain::distributed
