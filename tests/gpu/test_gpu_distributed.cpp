// The distributed parts on a CUDA device: synchronised BatchNorm's own
// arithmetic and a one-rank NCCL group (core/nccl_backend.hpp; the lent GPU
// machines have one GPU, so more ranks are tested with Gloo on the CPU).
// LibTorch first: a glog-based LibTorch (Debian's) defines a CHECK of its
// own, which Catch's must replace, not the other way round.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <vector>

#include <mixtrain/core/nccl_backend.hpp>
#include <mixtrain/model/batch_norm.hpp>

#include "gpu_test_support.hpp"

#ifdef MIXTRAIN_WITH_NCCL
#include <torch/csrc/distributed/c10d/HashStore.hpp>
#endif

namespace mt = mixtrain;

// The synchronised path's own arithmetic on the device (a world of one: its
// sums change nothing); the sums over ranks are checked on the CPU with
// threads and processes (tests/model, tests/distributed).
TEST_CASE("gpu: synchronised BatchNorm over one rank on CUDA matches LibTorch's, channels-last and bfloat16 too",
          "[gpu][batch_norm]") {
  if (!gpu_test::cuda_visible()) return;
  const mt::model::rank_collectives alone{0, 1, [](torch::Tensor&) {}};
  const auto largest = [](const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
  };
  for (const bool channels_last : {false, true}) {
    INFO("channels-last: " << channels_last);
    torch::manual_seed(9);
    torch::nn::BatchNorm2d reference(8);
    mt::model::batch_norm_2d synced(8);
    reference->to(gpu_test::cuda);
    synced->to(gpu_test::cuda);
    auto x = torch::randn({4, 8, 16, 16}, gpu_test::cuda) * 2 + 3;
    if (channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
    const auto xa = x.clone().requires_grad_(), xb = x.clone().requires_grad_();
    const auto weights = torch::randn({4, 8, 16, 16}, gpu_test::cuda);
    const auto expected = reference(xa);
    const auto got = mt::model::synced_batch_norm(xb, *synced, alone);
    (expected * weights).sum().backward();
    (got * weights).sum().backward();
    CHECK(largest(got, expected) < 1e-4);
    CHECK(largest(xb.grad(), xa.grad()) < 1e-4);
    CHECK(largest(synced->weight.grad(), reference->weight.grad()) < 1e-2);  // a sum over 1024 pixels
    CHECK(largest(synced->running_var, reference->running_var) < 1e-5);
    CHECK(got.is_contiguous(channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous));
  }
  // A bfloat16 input (as under autocast): float64 statistics, a bfloat16 output.
  torch::manual_seed(10);
  torch::nn::BatchNorm2d reference(8);
  mt::model::batch_norm_2d synced(8);
  reference->to(gpu_test::cuda);
  synced->to(gpu_test::cuda);
  const auto x = torch::randn({4, 8, 16, 16}, gpu_test::cuda) * 2 + 3;
  const auto got = mt::model::synced_batch_norm(x.to(torch::kBFloat16), *synced, alone);
  CHECK(got.scalar_type() == torch::kBFloat16);
  CHECK(largest(got, reference(x.to(torch::kBFloat16).to(torch::kFloat32))) < 5e-2);
}

TEST_CASE("gpu: a one-rank NCCL group sums and broadcasts CUDA tensors in place", "[gpu][nccl]") {
  if (!gpu_test::cuda_visible()) return;
#ifdef MIXTRAIN_WITH_NCCL
  // One GPU here: a world of one rank. Its all-reduce must leave the tensor
  // as it was (a sum over one rank), in float32 (gradient buckets) and
  // float64 (the policy's agreement header), and the broadcast likewise.
  auto store = c10::make_intrusive<c10d::HashStore>();
  auto group = mt::distributed::make_nccl_backend(store, 0, 1, std::chrono::seconds(120), gpu_test::cuda);
  auto gradients = torch::randn({1 << 16}, gpu_test::cuda);
  auto header = torch::tensor({3.0, 0.0, 1.0, 0.0, 1.0}, torch::TensorOptions(torch::kFloat64).device(gpu_test::cuda));
  const auto gradients_before = gradients.clone();
  const auto header_before = header.clone();
  std::vector<torch::Tensor> a{gradients}, b{header};
  group->allreduce(a)->wait();
  group->allreduce(b)->wait();
  group->broadcast(a)->wait();
  torch::cuda::synchronize(0);
  CHECK(torch::equal(gradients, gradients_before));
  CHECK(torch::equal(header.cpu(), header_before.cpu()));
  REQUIRE_THROWS_WITH(mt::distributed::make_nccl_backend(store, 0, 1, std::chrono::seconds(1), torch::kCPU),
                      Catch::Contains("CUDA device"));
#else
  FAIL("this CUDA build has no NCCL: " << mt::distributed::nccl_unavailable_reason());
#endif
}
