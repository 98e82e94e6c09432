// Checks that need a CUDA device: bf16 autocast, fp16 loss scaling with the
// library's amp policy, non-blocking copies from pinned host memory
// (core/device_copy.hpp), CUDA-graph steps (policy/cuda_graph.hpp) against
// eager ones (test_gpu_distributed.cpp has the NCCL and BatchNorm ones,
// test_gpu_optim.cpp the optimizer's). On a machine without CUDA each test
// says "skipped: no CUDA device" (a Catch warning, which ctest's
// SKIP_REGULAR_EXPRESSION turns into Skipped) and checks nothing.
// scripts/gpu-check runs them on a GPU machine and fails if any of them
// skips there.
// LibTorch first: a glog-based LibTorch (Debian's) defines a CHECK of its
// own, which Catch's must replace, not the other way round.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <iostream>
#include <sstream>
#include <vector>

#include <mixtrain/core/compat.hpp>
#include <mixtrain/core/device_copy.hpp>
#include <mixtrain/policy/amp.hpp>
#include <mixtrain/policy/cuda_graph.hpp>

#include "gpu_test_support.hpp"

namespace mt = mixtrain;

namespace {

using gpu_test::cuda;
using gpu_test::cuda_visible;

// What mt::policy::amp reads from the trainer's context: the device and the parameters.
struct amp_context {
  torch::Device device;
  std::vector<torch::Tensor> params;
  [[nodiscard]] const std::vector<torch::Tensor>& parameters() const { return params; }
};

// Two 3x3 convolutions with a ReLU between, on the GPU, seeded.
torch::nn::Sequential small_net(std::uint64_t seed) {
  torch::manual_seed(seed);
  torch::nn::Sequential net(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 16, 3).padding(1)), torch::nn::ReLU(),
                            torch::nn::Conv2d(torch::nn::Conv2dOptions(16, 4, 3).padding(1)));
  net->to(cuda);
  return net;
}

std::vector<torch::Tensor> copies(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> out;
  for (const auto& t : tensors) out.push_back(t.detach().clone());
  return out;
}

// ||a - b|| over all tensors together.
double distance(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += (a[i] - b[i]).to(torch::kDouble).square().sum().item<double>();
  return std::sqrt(sum);
}

double norm(const std::vector<torch::Tensor>& tensors) {
  double sum = 0;
  for (const auto& t : tensors) sum += t.to(torch::kDouble).square().sum().item<double>();
  return std::sqrt(sum);
}

}  // namespace

TEST_CASE("gpu: bf16 autocast runs a convolution in bfloat16 on CUDA with a loss within 1 % of float32", "[gpu]") {
  if (!cuda_visible()) return;
  torch::manual_seed(3);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(8, 16, 3).padding(1));
  conv->to(cuda);
  const auto input = torch::randn({2, 8, 64, 64}, cuda);
  const auto full = conv->forward(input);
  torch::Tensor reduced;
  {
    mt::compat::autocast_scope scope(torch::kCUDA, torch::kBFloat16);
    reduced = conv->forward(input);
  }
  CHECK(full.scalar_type() == torch::kFloat);
  CHECK(reduced.scalar_type() == torch::kBFloat16);
  CHECK_FALSE(mt::compat::autocast_enabled(torch::kCUDA));  // the scope restored the state
  const double loss_full = full.square().mean().item<double>();
  const double loss_reduced = reduced.to(torch::kFloat).square().mean().item<double>();
  CHECK(loss_full > 0);
  CHECK(std::abs(loss_reduced - loss_full) <= 0.01 * loss_full);
}

TEST_CASE("gpu: amp<fp16> loss scaling keeps gradients that float16 flushes to zero", "[gpu][amp]") {
  if (!cuda_visible()) return;
  // With a loss this small the output gradients (about 2e-5 * 2 / 16384 each)
  // lie below half of float16's smallest subnormal (6e-8): backward through
  // float16 activations rounds them to zero unless the loss is scaled, and
  // 65536 times them is a normal float16.
  constexpr double tiny = 2e-5;
  const auto input = torch::randn({4, 3, 32, 32}, cuda);
  const auto target = torch::randn({4, 4, 32, 32}, cuda);
  // The seeded net's gradients after `backward_of(net)`.
  auto gradients_after = [](auto&& backward_of) {
    auto net = small_net(5);
    backward_of(net);
    std::vector<torch::Tensor> g;
    for (const auto& p : net->parameters()) g.push_back(p.grad().detach().clone());
    return g;
  };
  const auto full = gradients_after([&](torch::nn::Sequential& net) {
    (tiny * torch::mse_loss(net->forward(input), target)).backward();
  });
  const auto unscaled = gradients_after([&](torch::nn::Sequential& net) {
    torch::Tensor loss;
    {
      mt::compat::autocast_scope scope(torch::kCUDA, torch::kHalf);
      loss = tiny * torch::mse_loss(net->forward(input), target);
    }
    loss.backward();
  });
  mt::policy::amp<mt::fp16> amp;
  const auto scaled = gradients_after([&](torch::nn::Sequential& net) {
    amp_context ctx{cuda, net->parameters()};
    torch::Tensor loss;
    {
      auto scope = amp.forward_scope(ctx);
      REQUIRE(scope.has_value());  // fp16 autocast exists on CUDA in every LibTorch
      const auto output = net->forward(input);
      CHECK(output.scalar_type() == torch::kHalf);
      loss = tiny * torch::mse_loss(output, target);
    }
    amp.scale_loss(ctx, loss);
    loss.backward();
    amp.unscale_gradients(ctx);
  });
  const double size = norm(full);
  REQUIRE(size > 0);
  CHECK(norm(unscaled) == 0.0);
  CHECK_FALSE(amp.found_inf());
  CHECK(distance(scaled, full) <= 0.02 * size);
}

TEST_CASE("gpu: amp<fp16> over five optimizer steps on CUDA tracks float32 training", "[gpu][amp]") {
  if (!cuda_visible()) return;
  const auto input = torch::randn({4, 3, 32, 32}, cuda);
  const auto target = torch::randn({4, 4, 32, 32}, cuda);
  constexpr int steps = 5;

  auto reference = small_net(9);
  const auto initial = copies(reference->parameters());
  torch::optim::SGD plain(reference->parameters(), torch::optim::SGDOptions(0.05));
  for (int i = 0; i < steps; ++i) {
    plain.zero_grad();
    torch::mse_loss(reference->forward(input), target).backward();
    plain.step();
  }

  auto net = small_net(9);
  torch::optim::SGD optimizer(net->parameters(), torch::optim::SGDOptions(0.05));
  mt::policy::amp<mt::fp16> amp;
  amp_context ctx{cuda, net->parameters()};
  for (int i = 0; i < steps; ++i) {
    optimizer.zero_grad();
    torch::Tensor loss;
    {
      auto scope = amp.forward_scope(ctx);
      loss = torch::mse_loss(net->forward(input), target);
    }
    amp.scale_loss(ctx, loss);
    loss.backward();
    amp.unscale_gradients(ctx);
    if (amp.before_optimizer_step(ctx)) {
      optimizer.step();
      amp.after_optimizer_step(ctx);
    } else {
      amp.after_skipped_step(ctx);
    }
  }
  CHECK(amp.skipped_steps() == 0);
  CHECK(amp.scale() == 65536.0);
  const auto trained = copies(net->parameters());
  const auto expected = copies(reference->parameters());
  const double moved = distance(expected, initial);
  REQUIRE(moved > 0);
  CHECK(distance(trained, expected) <= 0.02 * moved);
}

TEST_CASE("gpu: non-blocking copies from pinned host memory to CUDA and back equal the source", "[gpu]") {
  if (!cuda_visible()) return;
  const auto source = torch::arange(1 << 20, torch::kFloat).reshape({256, 4096}).pin_memory();
  REQUIRE(source.is_pinned());
  const auto on_device = source.to(cuda, /*non_blocking=*/true);
  auto back = torch::empty_like(source).pin_memory();
  back.copy_(on_device, /*non_blocking=*/true);
  torch::cuda::synchronize(0);  // the copies are asynchronous: wait before reading
  CHECK(on_device.device() == cuda);
  CHECK(torch::equal(back, source));
  CHECK(torch::equal(on_device.cpu(), source));
}

TEST_CASE("gpu: to_device_async copies host batches through pinned memory, each equal to its source", "[gpu]") {
  if (!cuda_visible()) return;
  // Twenty batches from host tensors that die at once: if a pinned block
  // were handed out again before its copy ran, a later batch would overwrite
  // an earlier one's source (the caching host allocator's recorded events
  // prevent exactly that).
  std::vector<torch::Tensor> on_device;
  for (int i = 0; i < 20; ++i) {
    const auto host = torch::full({4, 1, 256, 256}, i, torch::kUInt8);
    REQUIRE_FALSE(host.is_pinned());
    torch::Tensor staged;
    on_device.push_back(mt::to_device_async(host, cuda, &staged));
    CHECK(staged.is_pinned());
    CHECK(staged.data_ptr() != host.data_ptr());
  }
  torch::cuda::synchronize(0);
  for (int i = 0; i < 20; ++i) {
    CHECK(on_device[static_cast<std::size_t>(i)].device() == cuda);
    CHECK(torch::equal(on_device[static_cast<std::size_t>(i)].cpu(), torch::full({4, 1, 256, 256}, i, torch::kUInt8)));
  }
  // A landmark-like float batch keeps its values and dtype.
  const auto coords = torch::rand({8, 29, 2}) * 256;
  CHECK(torch::equal(mt::to_device_async(coords, cuda).cpu(), coords));
}

TEST_CASE("gpu: cuda_graph_step refuses a CPU device and names it", "[gpu][cuda_graph]") {
  // Runs everywhere: without CUDA, and on the CPU device of a CUDA build.
  torch::nn::Linear net(2, 1);
  auto forward_loss = [&](const torch::Tensor& x, const torch::Tensor& y) { return torch::mse_loss(net->forward(x), y); };
  using runner = mt::policy::cuda_graph_step<decltype(forward_loss)>;
  REQUIRE_THROWS_WITH(runner(torch::kCPU, net->parameters(), forward_loss), Catch::Contains("'cpu'"));
}

TEST_CASE("gpu: cuda_graph_step gives the eager losses over eight AdamW steps and captures after warm-up", "[gpu][cuda_graph]") {
  if (!cuda_visible()) return;
  // Deterministic cuDNN so both runs pick the same kernels: the replayed
  // graph then does the eager arithmetic, and the losses agree to float32
  // rounding. 1e-5 relative leaves room for a reduction order that differs
  // (cuDNN may choose another algorithm for the graph's private memory pool)
  // and is still 100x below what one AdamW step changes the loss by here.
  const bool deterministic = at::globalContext().deterministicCuDNN();
  at::globalContext().setDeterministicCuDNN(true);
  constexpr int steps = 8;
  torch::manual_seed(21);
  std::vector<torch::Tensor> inputs, targets;
  for (int i = 0; i < steps; ++i) {
    inputs.push_back(torch::randn({4, 3, 32, 32}, cuda));
    targets.push_back(torch::randn({4, 4, 32, 32}, cuda));
  }
  std::vector<double> eager, graphed;
  {
    auto net = small_net(13);
    torch::optim::AdamW optimizer(net->parameters(), torch::optim::AdamWOptions(1e-2));
    for (int i = 0; i < steps; ++i) {
      optimizer.zero_grad();
      auto loss = torch::mse_loss(net->forward(inputs[static_cast<std::size_t>(i)]), targets[static_cast<std::size_t>(i)]);
      loss.backward();
      optimizer.step();
      eager.push_back(loss.item<double>());
    }
  }
  auto net = small_net(13);
  torch::optim::AdamW optimizer(net->parameters(), torch::optim::AdamWOptions(1e-2));
  auto forward_loss = [&](const torch::Tensor& x, const torch::Tensor& y) { return torch::mse_loss(net->forward(x), y); };
  mt::policy::cuda_graph_step<decltype(forward_loss)> step(cuda, net->parameters(), forward_loss, /*warmup_steps=*/2);
  for (int i = 0; i < steps; ++i) {
    const auto loss = step.run(inputs[static_cast<std::size_t>(i)], targets[static_cast<std::size_t>(i)]);
    optimizer.step();  // eager: AdamW's step count lives on the host
    graphed.push_back(loss.item<double>());
  }
  at::globalContext().setDeterministicCuDNN(deterministic);
  CHECK(step.captured());
  CHECK(step.replays() == steps - 2);
  for (int i = 0; i < steps; ++i) {
    INFO("step " << i << ": eager " << eager[static_cast<std::size_t>(i)] << ", graph " << graphed[static_cast<std::size_t>(i)]);
    CHECK(std::abs(graphed[static_cast<std::size_t>(i)] - eager[static_cast<std::size_t>(i)]) <=
          1e-5 * std::abs(eager[static_cast<std::size_t>(i)]));
  }
  // The replays saw each step's own input and the updated weights, not the captured ones.
  CHECK(graphed[steps - 1] != graphed[steps - 2]);

  // An optimizer's zero_grad() that drops the gradients (LibTorch 2.x sets them
  // to none) does not lose them: the next replay attaches the graph's again.
  const auto graph_gradient = net->parameters()[0].grad();
  net->parameters()[0].mutable_grad() = torch::Tensor();
  step.run(inputs[0], targets[0]);
  CHECK(net->parameters()[0].grad().is_same(graph_gradient));
}

// What the cuda_graph policy reads from the trainer's context.
struct graph_context {
  torch::Device device = cuda;
  std::vector<torch::Tensor> params;
  std::ostream* log = &std::cout;
  std::int64_t batches_per_epoch = 8, updates_per_epoch = 8, window_length = 1;
  [[nodiscard]] const std::vector<torch::Tensor>& parameters() const { return params; }
};

struct graph_batch {
  torch::Tensor input, target;
};

TEST_CASE("gpu: the cuda_graph policy's steps give the eager losses, replaying after warm-up, a short batch eager",
          "[gpu][cuda_graph]") {
  if (!cuda_visible()) return;
  const bool deterministic = at::globalContext().deterministicCuDNN();
  at::globalContext().setDeterministicCuDNN(true);
  torch::manual_seed(22);
  std::vector<graph_batch> batches;
  for (int i = 0; i < 7; ++i) batches.push_back({torch::randn({4, 3, 32, 32}, cuda), torch::randn({4, 4, 32, 32}, cuda)});
  batches.push_back({torch::randn({2, 3, 32, 32}, cuda), torch::randn({2, 4, 32, 32}, cuda)});  // the short last one
  // The loop's step as the trainer hands it over: forward, loss, backward.
  auto run = [&](bool graphed) {
    auto net = small_net(14);
    torch::optim::AdamW optimizer(net->parameters(), torch::optim::AdamWOptions(1e-2));
    graph_context ctx{.params = net->parameters()};
    auto loop_step = [&](graph_batch& b) {
      const auto loss = torch::mse_loss(net->forward(b.input), b.target);
      loss.backward();
      return mt::step_outcome{loss, torch::full({}, 1.0, cuda)};
    };
    mt::eager_step<false, false, decltype(loop_step)> eager{loop_step};
    mt::policy::cuda_graph<{.warmup_steps = 2}> policy;
    policy.on_fit_begin(ctx);
    std::vector<double> losses;
    for (auto& b : batches) {
      const auto out = graphed ? policy.run_step(ctx, b, eager) : eager(b);
      optimizer.step();
      optimizer.zero_grad();
      losses.push_back(out.loss.item<double>());
    }
    CHECK(policy.replays() == (graphed ? 5 : 0));  // 8 steps: 2 warm-up, 5 replays, 1 eager of another shape
    std::ostringstream log;
    ctx.log = &log;
    policy.on_fit_end(ctx);
    if (graphed) CHECK(log.str().find("captured after 2 eager warm-up steps; 5 replays, 1 eager steps") != std::string::npos);
    return losses;
  };
  const auto eager = run(false);
  const auto graphed = run(true);
  at::globalContext().setDeterministicCuDNN(deterministic);
  for (std::size_t i = 0; i < eager.size(); ++i) {
    INFO("step " << i << ": eager " << eager[i] << ", graph " << graphed[i]);
    CHECK(std::abs(graphed[i] - eager[i]) <= 1e-5 * std::abs(eager[i]));
  }
}
