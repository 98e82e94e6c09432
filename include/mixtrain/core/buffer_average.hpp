#pragma once
// Data parallelism without --sync_batch_norm: each rank's BatchNorm running
// statistics drift apart. Before a validation they become the ranks' mean (as
// timm's distribute_bn does), so every rank scores, and rank 0 checkpoints,
// the same weights.
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace mixtrain {

// Sets every floating-point buffer of `module` to its mean over the ranks;
// `sum_over_ranks(tensor&)` adds a host float64 tensor over the ranks in
// place. Integer buffers (BatchNorm's batch counts) agree already.
template <class SumOverRanks>
void average_floating_buffers(torch::nn::Module& module, int world_size, SumOverRanks&& sum_over_ranks) {
  std::vector<torch::Tensor> buffers;
  for (auto& b : module.buffers(true))
    if (b.is_floating_point()) buffers.push_back(b);
  if (buffers.empty()) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (const auto& b : buffers) parts.push_back(b.detach().to(torch::kCPU, torch::kFloat64).reshape({-1}));
  auto flat = torch::cat(parts);
  sum_over_ranks(flat);
  flat.div_(static_cast<double>(world_size));
  std::int64_t offset = 0;
  for (auto& b : buffers) {
    const auto n = b.numel();
    b.copy_(flat.slice(0, offset, offset + n).view(b.sizes()));
    offset += n;
  }
}

}  // namespace mixtrain
