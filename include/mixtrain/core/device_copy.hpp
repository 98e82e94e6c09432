#pragma once
// Host tensors to the training device without stalling the host on CUDA.
//
// On a CUDA device the host tensor is first copied into page-locked
// ("pinned") memory and then moved with non_blocking=true: the transfer is a
// DMA queued on the current stream, and the host goes on (decoding the next
// batch, launching the forward pass) while it runs. Kernels queued later on
// the same stream see the finished copy, so the device side needs no wait.
// On any other device nothing changes: `.to(device)`, exactly what the tasks
// did before (and on the CPU the same tensor, no copy). LibTorch 1.13 without
// CUDA throws from pin_memory(), so the CPU path never calls it.
//
// Lifetime of the pinned source. The pinned copy is a temporary that is
// released when to_device_async returns, possibly before the transfer has
// run. That is safe because pin_memory() takes its block from the CUDA
// caching host allocator, and a non-blocking copy out of such a block
// records an event on the copy's stream (ATen's copy_ does it for every
// pinned source that came from that allocator); the allocator hands the
// block out again only after the event has completed. A pinned tensor from
// elsewhere (from_blob over cudaHostAlloc'd memory) would not get that
// protection, which is why this helper always pins through pin_memory().
// The pageable source (the batch's own vector) is read synchronously by
// pin_memory() itself, so it may be reused as soon as this returns.
#include <torch/torch.h>

namespace mixtrain {

// `host` on `device`; on CUDA through pinned memory and an asynchronous copy.
// `staged`, when given, receives the tensor the copy was made from (the
// pinned block on CUDA, `host` itself elsewhere): tests check it is pinned.
inline torch::Tensor to_device_async(const torch::Tensor& host, torch::Device device, torch::Tensor* staged = nullptr) {
  if (!device.is_cuda() || !host.device().is_cpu()) {
    if (staged) *staged = host;
    return host.to(device);
  }
  auto pinned = host.is_pinned() ? host : host.pin_memory();
  if (staged) *staged = pinned;
  return pinned.to(device, /*non_blocking=*/true);
}

}  // namespace mixtrain
