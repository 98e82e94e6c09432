// optim::foreach_adamw on CUDA, where the foreach ops take their multi-tensor
// kernels, against LibTorch's per-tensor AdamW (the CPU test in
// tests/core/test_foreach_adamw.cpp asserts the same bits; fused kernels may
// round differently, so here the bound is a tolerance far below a step's size).
// LibTorch first: a glog-based LibTorch (Debian's) defines a CHECK of its
// own, which Catch's must replace, not the other way round.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <vector>

#include <mixtrain/optim/foreach_adamw.hpp>

#include "gpu_test_support.hpp"

namespace mt = mixtrain;

namespace test_gpu_optim {

TEST_CASE("gpu: foreach_adamw on CUDA follows LibTorch's AdamW over six steps, channels-last tensors too",
          "[gpu][optim]") {
  if (!gpu_test::cuda_visible()) return;
  torch::manual_seed(11);
  std::vector<torch::Tensor> ours{torch::randn({64, 32, 3, 3}).contiguous(torch::MemoryFormat::ChannelsLast),
                                  torch::randn({64}), torch::randn({300, 257}), torch::randn({7})};
  std::vector<torch::Tensor> reference, start;
  for (auto& p : ours) {
    p = p.to(gpu_test::cuda).set_requires_grad(true);
    reference.push_back(p.detach().clone().set_requires_grad(true));
    start.push_back(p.detach().clone());
  }
  const auto options = torch::optim::AdamWOptions(1e-2).weight_decay(1e-2);
  mt::optim::foreach_adamw fast(ours, options);
  torch::optim::AdamW slow(reference, options);
  for (int step = 0; step < 6; ++step) {
    for (std::size_t i = 0; i < ours.size(); ++i) {
      auto g = torch::randn(ours[i].sizes(), torch::TensorOptions(gpu_test::cuda));
      ours[i].mutable_grad() = g;
      reference[i].mutable_grad() = g.clone();
    }
    fast.step();
    slow.step();
  }
  for (std::size_t i = 0; i < ours.size(); ++i) {
    INFO("parameter " << i);
    const double moved = (reference[i] - start[i]).abs().max().item<double>();
    const double apart = (ours[i] - reference[i]).abs().max().item<double>();
    CHECK(moved > 1e-2);  // six steps of lr 1e-2 move each tensor
    CHECK(apart <= 1e-6);
  }
  CHECK(ours[0].is_contiguous(torch::MemoryFormat::ChannelsLast));
}

}  // namespace test_gpu_optim
