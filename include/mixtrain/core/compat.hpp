#pragma once
// The one place that knows LibTorch version differences. LibTorch 2.4 replaced
// the per-device autocast functions (set_cpu_enabled, set_autocast_cpu_dtype,
// ...) with device-type-parameterised ones; everything else calls this header.
#include <string>
#include <utility>

#include <torch/torch.h>
#include <torch/version.h>
#include <ATen/autocast_mode.h>

namespace mixtrain::compat {

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
inline bool autocast_enabled(torch::DeviceType device) { return at::autocast::is_autocast_enabled(device); }
inline void set_autocast_enabled(torch::DeviceType device, bool on) { at::autocast::set_autocast_enabled(device, on); }
inline torch::ScalarType autocast_dtype(torch::DeviceType device) { return at::autocast::get_autocast_dtype(device); }
inline void set_autocast_dtype(torch::DeviceType device, torch::ScalarType dtype) {
  at::autocast::set_autocast_dtype(device, dtype);
}
#else
inline bool autocast_enabled(torch::DeviceType device) {
  return device == torch::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
inline void set_autocast_enabled(torch::DeviceType device, bool on) {
  if (device == torch::kCUDA) at::autocast::set_enabled(on);
  else at::autocast::set_cpu_enabled(on);
}
inline torch::ScalarType autocast_dtype(torch::DeviceType device) {
  return device == torch::kCUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
}
inline void set_autocast_dtype(torch::DeviceType device, torch::ScalarType dtype) {
  if (device == torch::kCUDA) at::autocast::set_autocast_gpu_dtype(dtype);
  else at::autocast::set_autocast_cpu_dtype(dtype);
}
#endif

// RAII autocast scope. Nesting-safe: it restores the previous state, and the
// outermost scope clears the cast cache (as torch.autocast's __exit__ does),
// so cached low-precision weight copies never outlive a step.
class autocast_scope {
 public:
  autocast_scope(torch::DeviceType device, torch::ScalarType dtype, bool enabled = true)
      : device_(device), was_enabled_(autocast_enabled(device)), previous_dtype_(autocast_dtype(device)) {
    // dtype first: it may throw (unsupported on this device), and then no
    // state has changed yet for a destructor-less exit to leak.
    set_autocast_dtype(device_, dtype);
    set_autocast_enabled(device_, enabled);
    at::autocast::increment_nesting();
  }
  // Movable so that a policy can return its scope; only the last owner exits.
  autocast_scope(autocast_scope&& other) noexcept
      : device_(other.device_), was_enabled_(other.was_enabled_), previous_dtype_(other.previous_dtype_),
        active_(std::exchange(other.active_, false)) {}
  autocast_scope(const autocast_scope&) = delete;
  autocast_scope& operator=(const autocast_scope&) = delete;
  autocast_scope& operator=(autocast_scope&&) = delete;
  ~autocast_scope() {
    if (!active_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set_autocast_enabled(device_, was_enabled_);
    set_autocast_dtype(device_, previous_dtype_);
  }

 private:
  torch::DeviceType device_;
  bool was_enabled_;
  torch::ScalarType previous_dtype_;
  bool active_ = true;
};

// Whether autocast can run `dtype` on `device`: LibTorch before 2.4 has CPU
// autocast for bfloat16 only, and throws when asked for float16.
inline bool autocast_supports(torch::DeviceType device, torch::ScalarType dtype) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  (void)device;
  (void)dtype;
  return true;
#else
  return device != torch::kCPU || dtype == torch::kBFloat16;
#endif
}

// c10d (core/distributed_group.hpp, data parallelism) needs no branch here:
// what mixtrain calls -- TCPStore(host, TCPStoreOptions), ProcessGroupGloo's
// constructor, Options::create(timeout), createDeviceFor*, allreduce,
// broadcast and Work::wait -- has the same signatures in 1.13 and 2.x
// (2.x moved ProcessGroupGloo under c10d::Backend and serves the TCPStore
// with libuv by default, neither of which changes these calls). What differs
// is the build: Debian's TorchConfig defines USE_C10D_GLOO, a Python torch's
// does not, so distributed_group.hpp defines it before the include.

// The key of a parameter's entry in torch::optim::Optimizer::state_: LibTorch
// 1.13 spells the TensorImpl's address as a string, 2.x keeps the pointer.
#if TORCH_VERSION_MAJOR >= 2
inline void* optimizer_state_key(const torch::Tensor& parameter) { return parameter.unsafeGetTensorImpl(); }
#else
inline std::string optimizer_state_key(const torch::Tensor& parameter) {
  return c10::guts::to_string(parameter.unsafeGetTensorImpl());
}
#endif

// True when this LibTorch has CUDA and a device is visible.
inline bool cuda_usable() { return torch::cuda::is_available(); }

}  // namespace mixtrain::compat

// c10d's collective engines (ProcessGroupGloo, ProcessGroupNCCL) derive from
// c10d::ProcessGroup in LibTorch 1.13 and from c10d::Backend in 2.x, where
// ProcessGroup became a dispatcher over backends. Both bases declare
// allreduce and broadcast with the same signatures, and ProcessGroupNCCL's
// constructor (store, rank, size, Options::create(high_priority_stream))
// and its Options' `timeout` are the same in both, so only the base's name
// differs. Declared here, defined by the c10d headers that use it.
#if TORCH_VERSION_MAJOR >= 2
namespace c10d {
class Backend;
}
namespace mixtrain::compat {
using c10d_backend = ::c10d::Backend;
}
#else
namespace c10d {
class ProcessGroup;
}
namespace mixtrain::compat {
using c10d_backend = ::c10d::ProcessGroup;
}
#endif
