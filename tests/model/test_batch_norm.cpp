// Synchronised BatchNorm against LibTorch's own BatchNorm on the whole
// batch: one rank, and two ranks simulated by two threads whose rank sum
// meets at a barrier (the process test is in tests/distributed).
#include <catch2/catch.hpp>

#include <algorithm>
#include <barrier>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <torch/torch.h>

#include "mixtrain/model/batch_norm.hpp"

namespace mm = mixtrain::model;

namespace test_batch_norm {
namespace {

double max_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

// A BatchNorm with non-trivial affine parameters and running statistics.
// `cumulative`: no momentum, the running statistics average every batch.
torch::nn::BatchNorm2d reference_norm(std::int64_t channels, bool cumulative = false) {
  torch::nn::BatchNorm2dOptions options(channels);
  if (cumulative) options.momentum({});
  torch::nn::BatchNorm2d bn(options);
  torch::NoGradGuard no_grad;
  bn->weight.uniform_(0.5, 1.5);
  bn->bias.uniform_(-0.5, 0.5);
  bn->running_mean.uniform_(-1, 1);
  bn->running_var.uniform_(0.5, 2);
  return bn;
}

// The same parameters and statistics in a batch_norm_2d.
mm::batch_norm_2d copy_of(const torch::nn::BatchNorm2d& bn) {
  mm::batch_norm_2d copy(bn->options);
  torch::NoGradGuard no_grad;
  copy->weight.copy_(bn->weight);
  copy->bias.copy_(bn->bias);
  copy->running_mean.copy_(bn->running_mean);
  copy->running_var.copy_(bn->running_var);
  return copy;
}

// The largest difference relative to the reference's largest value (at least 1).
double relative_difference(const torch::Tensor& got, const torch::Tensor& expected) {
  return max_difference(got, expected) / std::max(1.0, expected.abs().max().item<double>());
}

// Two "ranks" in two threads: each sum waits for the other's tensor.
struct two_thread_sum {
  std::barrier<> meet{2};
  torch::Tensor slots[2];
  mm::rank_collectives for_rank(int r) {
    return {r, 2, [this, r](torch::Tensor& t) {
      slots[r] = t.clone();
      meet.arrive_and_wait();
      const auto total = slots[0] + slots[1];
      meet.arrive_and_wait();  // both read the slots before either writes again
      t.copy_(total);
    }};
  }
};

}  // namespace

// The reference runs in float64, the synchronised one in float32: a large
// mean next to a small spread, so a variance computed carelessly in float32
// (E[x^2] - mean^2) would lose its digits and fail.
TEST_CASE("synchronised BatchNorm over one rank matches LibTorch's BatchNorm forward, gradients and statistics",
          "[batch_norm]") {
  torch::manual_seed(4);
  for (const bool cumulative : {false, true}) {
    INFO("cumulative average: " << cumulative);
    auto reference = reference_norm(3, cumulative);
    auto synced = copy_of(reference);  // float32, before the reference turns float64
    reference->to(torch::kFloat64);
    const auto x = (torch::randn({4, 3, 5, 6}, torch::kFloat64) * 0.5 + 20).requires_grad_();
    const auto x2 = x.detach().to(torch::kFloat32).requires_grad_();
    const auto weights = torch::randn({4, 3, 5, 6}, torch::kFloat64);
    const mm::rank_collectives alone{0, 1, [](torch::Tensor&) {}};
    for (int step = 0; step < 2; ++step) {  // twice: the cumulative average needs a second batch
      const auto expected = reference(x);
      const auto got = mm::synced_batch_norm(x2, *synced, alone);
      CHECK(relative_difference(got, expected) < 1e-5);
      (expected * weights).sum().backward();
      (got * weights).sum().backward();
    }
    CHECK(relative_difference(x2.grad(), x.grad()) < 1e-5);
    CHECK(relative_difference(synced->weight.grad(), reference->weight.grad()) < 1e-5);
    CHECK(relative_difference(synced->bias.grad(), reference->bias.grad()) < 1e-5);
    CHECK(relative_difference(synced->running_mean, reference->running_mean) < 1e-6);
    CHECK(relative_difference(synced->running_var, reference->running_var) < 1e-6);
    CHECK(synced->num_batches_tracked.item<std::int64_t>() == 2);
  }
}

TEST_CASE("two ranks of synchronised BatchNorm equal one BatchNorm over their concatenated batch", "[batch_norm]") {
  torch::manual_seed(5);
  auto reference = reference_norm(4);
  std::vector<mm::batch_norm_2d> ranks{copy_of(reference), copy_of(reference)};  // before its statistics move
  const auto x = torch::randn({6, 4, 3, 5}) * 2 + 1;
  const auto weights = torch::randn({6, 4, 3, 5});
  const auto x_whole = x.clone().requires_grad_();
  const auto expected = reference(x_whole);
  (expected * weights).sum().backward();

  // Rank 0 holds 4 images and rank 1 holds 2: uneven shards must count right.
  const std::int64_t rows[2][2] = {{0, 4}, {4, 6}};
  two_thread_sum sums;
  std::vector<torch::Tensor> inputs(2), outputs(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    inputs[r] = x.slice(0, rows[r][0], rows[r][1]).clone().requires_grad_();
    threads.emplace_back([&, r] {
      const auto sum = sums.for_rank(r);
      outputs[r] = mm::synced_batch_norm(inputs[r], *ranks[r], sum);
      (outputs[r] * weights.slice(0, rows[r][0], rows[r][1])).sum().backward();
    });
  }
  for (auto& t : threads) t.join();

  for (int r = 0; r < 2; ++r) {
    INFO("rank " << r);
    const auto mine = [&](const torch::Tensor& t) { return t.slice(0, rows[r][0], rows[r][1]); };
    CHECK(max_difference(outputs[r], mine(expected)) < 1e-5);
    CHECK(max_difference(inputs[r].grad(), mine(x_whole.grad())) < 1e-5);
    CHECK(max_difference(ranks[r]->running_mean, reference->running_mean) < 1e-6);
    CHECK(max_difference(ranks[r]->running_var, reference->running_var) < 1e-6);
  }
  // Parameter gradients stay per rank: the data-parallel gradient sum adds them.
  CHECK(max_difference(ranks[0]->weight.grad() + ranks[1]->weight.grad(), reference->weight.grad()) < 1e-4);
  CHECK(max_difference(ranks[0]->bias.grad() + ranks[1]->bias.grad(), reference->bias.grad()) < 1e-4);
  // Without the sum each rank normalises alone: the outputs differ (the
  // comparison above can fail).
  auto alone = copy_of(reference_norm(4));
  CHECK(max_difference(alone(x.slice(0, 4, 6)), expected.slice(0, 4, 6)) > 1e-2);
}

TEST_CASE("batch_norm_2d synchronises only while training with the ranks' collectives installed", "[batch_norm]") {
  mm::batch_norm_2d bn(3);
  int sums = 0;
  const auto x = torch::randn({2, 3, 4, 4}).requires_grad_();
  mm::batch_norm_ranks() = {0, 1, [&](torch::Tensor&) { ++sums; }};
  bn->train();
  bn(x).sum().backward();
  CHECK(sums == 2);  // the statistics in forward, their gradients in backward
  bn->eval();
  bn(x);
  CHECK(sums == 2);
  mm::batch_norm_ranks() = {};
  bn->train();
  bn(x);
  CHECK(sums == 2);
}

TEST_CASE("batch_norm_2d keeps BatchNorm2d's names and survives a Sequential's clone", "[batch_norm]") {
  torch::nn::BatchNorm2d plain(5);
  mm::batch_norm_2d ours(5);
  std::vector<std::string> plain_names, our_names;
  for (const auto& p : plain->named_parameters()) plain_names.push_back(p.key());
  for (const auto& b : plain->named_buffers()) plain_names.push_back(b.key());
  for (const auto& p : ours->named_parameters()) our_names.push_back(p.key());
  for (const auto& b : ours->named_buffers()) our_names.push_back(b.key());
  CHECK(our_names == plain_names);

  torch::nn::Sequential sequence(torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 5, 3)), ours);
  {
    torch::NoGradGuard no_grad;
    ours->running_mean.fill_(0.25);
  }
  const auto copy = std::dynamic_pointer_cast<torch::nn::SequentialImpl>(sequence->clone());
  REQUIRE(copy);
  const auto norm = copy->ptr(1);
  REQUIRE(std::dynamic_pointer_cast<mm::batch_norm_2dImpl>(norm) != nullptr);
  const auto copied_mean = norm->named_buffers()["running_mean"];
  CHECK(copied_mean.eq(0.25).all().item<bool>());
  {
    torch::NoGradGuard no_grad;
    ours->running_mean.fill_(1);
  }
  CHECK(copied_mean.eq(0.25).all().item<bool>());  // its own tensors
  CHECK(copy->forward(torch::randn({2, 1, 6, 6})).sizes() == torch::IntArrayRef({2, 5, 4, 4}));
}

TEST_CASE("the census for synchronised BatchNorm names the first of LibTorch's BatchNorm layers", "[batch_norm]") {
  torch::nn::Sequential ours(torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 2, 3)), mm::batch_norm_2d(2),
                             mm::batch_norm_2d(2));
  const auto clean = mm::count_batch_norms(*ours);
  CHECK(clean.synchronised == 2);
  CHECK(clean.first_plain.empty());
  torch::nn::Sequential mixed(mm::batch_norm_2d(2), torch::nn::BatchNorm2d(2), torch::nn::BatchNorm1d(2));
  const auto census = mm::count_batch_norms(*mixed);
  CHECK(census.synchronised == 1);
  CHECK(census.first_plain == "model.1");
}

}  // namespace test_batch_norm
