// optim/foreach_adamw.hpp against LibTorch's own AdamW, the independent
// reference: on the CPU the multi-tensor step must give the same bits, step
// counts that differ within a group and learning rates changed between steps
// included, and checkpoints must move between the two in both directions.
// The CUDA comparison (where foreach ops take their fused path) is in
// tests/gpu/test_gpu.cpp.
// LibTorch first: glog (Debian's LibTorch) defines a CHECK of its own that
// Catch's must replace, not the other way round.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <mixtrain/optim/adamw.hpp>
#include <mixtrain/optim/foreach_adamw.hpp>

namespace mt = mixtrain;

namespace test_foreach_adamw {
namespace {

std::vector<torch::Tensor> parameters(int seed) {
  torch::manual_seed(seed);
  std::vector<torch::Tensor> p{torch::randn({8, 3, 3, 3}), torch::randn({8}), torch::randn({5, 7}),
                               torch::randn({4, 2, 3, 3}).contiguous(torch::MemoryFormat::ChannelsLast)};
  for (auto& t : p) t.set_requires_grad(true);
  return p;
}

std::vector<torch::Tensor> copies(const std::vector<torch::Tensor>& p) {
  std::vector<torch::Tensor> c;
  for (const auto& t : p) c.push_back(t.detach().clone().set_requires_grad(true));
  return c;
}

// Two groups with different options, as a recipe with a frozen-backbone rate would have.
template <class Optimizer>
Optimizer two_groups(const std::vector<torch::Tensor>& p) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{p[0], p[1]},
                      std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(1e-2).weight_decay(0.1)));
  groups.emplace_back(std::vector<torch::Tensor>{p[2], p[3]},
                      std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(3e-3).weight_decay(0).betas({0.8, 0.95}).eps(1e-6)));
  return Optimizer(std::move(groups), torch::optim::AdamWOptions(1e-3));
}

// Step `step`'s gradients, the same for both optimizers. p[3] has none before
// step 2, so its step count lags the others' within its group.
void set_gradients(std::vector<torch::Tensor>& p, int step) {
  torch::manual_seed(1000 + step);
  for (std::size_t i = 0; i < p.size(); ++i) {
    auto g = torch::randn(p[i].sizes()) * static_cast<double>(i + 1);
    p[i].mutable_grad() = (i == 3 && step < 2) ? torch::Tensor() : g;
  }
}

void require_same_bits(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO("parameter " << i);
    REQUIRE(torch::equal(a[i], b[i]));
  }
}

}  // namespace

TEST_CASE("foreach_adamw takes LibTorch AdamW's steps bit for bit on the CPU", "[optim]") {
  auto ours = parameters(7);
  auto reference = copies(ours);
  auto fast = two_groups<mt::optim::foreach_adamw>(ours);
  auto slow = two_groups<torch::optim::AdamW>(reference);
  const auto start = copies(ours);
  for (int step = 0; step < 6; ++step) {
    if (step == 3)  // as an LR schedule does between steps
      for (auto* o : {static_cast<torch::optim::Optimizer*>(&fast), static_cast<torch::optim::Optimizer*>(&slow)})
        o->param_groups()[0].options().set_lr(4e-3);
    set_gradients(ours, step);
    set_gradients(reference, step);
    fast.step();
    slow.step();
    require_same_bits(ours, reference);
  }
  // The steps really moved every parameter (p[3] from step 2 on).
  for (std::size_t i = 0; i < ours.size(); ++i) CHECK_FALSE(torch::equal(ours[i], start[i]));
  // Both keep one state per parameter, with the lagging step count.
  REQUIRE(fast.state().size() == 4);
  const auto& lagging = static_cast<const torch::optim::AdamWParamState&>(
      *fast.state().at(mt::compat::optimizer_state_key(ours[3])));
  CHECK(lagging.step() == 4);
  CHECK(lagging.exp_avg().is_contiguous(torch::MemoryFormat::ChannelsLast));
}

TEST_CASE("foreach_adamw and LibTorch AdamW checkpoints load into each other", "[optim]") {
  auto run = [](auto& first, auto& second, std::vector<torch::Tensor>& p1, std::vector<torch::Tensor>& p2) {
    for (int step = 0; step < 3; ++step) {
      set_gradients(p1, step);
      first.step();
    }
    std::stringstream checkpoint;
    {
      torch::serialize::OutputArchive archive;
      first.save(archive);
      archive.save_to(checkpoint);
    }
    for (std::size_t i = 0; i < p1.size(); ++i) p2[i].data().copy_(p1[i].data());
    torch::serialize::InputArchive archive;
    archive.load_from(checkpoint);
    second.load(archive);
    // Both go on from the same state: the loaded one must not start its moments afresh.
    for (int step = 3; step < 5; ++step) {
      set_gradients(p1, step);
      set_gradients(p2, step);
      first.step();
      second.step();
      require_same_bits(p1, p2);
    }
  };
  SECTION("saved by foreach_adamw, resumed by AdamW") {
    auto p1 = parameters(3);
    auto p2 = copies(p1);
    auto first = two_groups<mt::optim::foreach_adamw>(p1);
    auto second = two_groups<torch::optim::AdamW>(p2);
    run(first, second, p1, p2);
  }
  SECTION("saved by AdamW, resumed by foreach_adamw") {
    auto p1 = parameters(4);
    auto p2 = copies(p1);
    auto first = two_groups<torch::optim::AdamW>(p1);
    auto second = two_groups<mt::optim::foreach_adamw>(p2);
    run(first, second, p1, p2);
  }
}

TEST_CASE("the adamw spec builds foreach_adamw with its compiled options", "[optim]") {
  auto p = parameters(5);
  auto optimizer = mt::optim::adamw<{.lr = 2e-3, .weight_decay = 1e-2, .beta1 = 0.85, .eps = 1e-7}>{}.build(p);
  static_assert(std::is_same_v<decltype(optimizer), mt::optim::foreach_adamw>);
  const auto& o = static_cast<const torch::optim::AdamWOptions&>(optimizer.param_groups()[0].options());
  CHECK(o.lr() == 2e-3);
  CHECK(o.weight_decay() == 1e-2);
  CHECK(std::get<0>(o.betas()) == 0.85);
  CHECK(o.eps() == 1e-7);
}

TEST_CASE("foreach_adamw refuses amsgrad instead of ignoring it", "[optim]") {
  auto p = parameters(6);
  mt::optim::foreach_adamw optimizer(p, torch::optim::AdamWOptions(1e-3).amsgrad(true));
  set_gradients(p, 3);
  try {
    optimizer.step();
    FAIL("no error");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("amsgrad") != std::string::npos);
  }
}

}  // namespace test_foreach_adamw
