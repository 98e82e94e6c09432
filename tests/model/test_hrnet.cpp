// HRNet: sizes against the paper / PyTorch reference, shapes, training, cloning.
#include <catch2/catch.hpp>

#include <cstdint>
#include <set>
#include <string>

#include <torch/torch.h>

#include "mixtrain/model/hrnet.hpp"

namespace mm = mixtrain::model;

namespace test_hrnet {
namespace {

std::int64_t parameter_count(const torch::nn::Module& module) {
  std::int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

template <mm::hrnet_config C>
std::int64_t count(std::int64_t landmarks, std::int64_t in_channels) {
  return parameter_count(*mm::hrnet<C>::build({.num_landmarks = landmarks, .in_channels = in_channels}));
}

constexpr mm::hrnet_config w32_up = mm::hrnet_w32.with_head_upsample();
constexpr mm::hrnet_config small_up = mm::hrnet_small.with_head_upsample();

}  // namespace

TEST_CASE("hrnet names and output strides", "[hrnet]") {
  STATIC_REQUIRE(mm::model_spec<mm::hrnet<mm::hrnet_w18>>);
  STATIC_REQUIRE(mm::model_spec<mm::hrnet<mm::hrnet_small>>);
  CHECK(mm::hrnet<mm::hrnet_w18>::name == "hrnet_w18");
  CHECK(mm::hrnet<mm::hrnet_w32>::name == "hrnet_w32");
  CHECK(mm::hrnet<mm::hrnet_w48>::name == "hrnet_w48");
  CHECK(mm::hrnet<mm::hrnet_small>::name == "hrnet_small");
  CHECK(mm::hrnet<w32_up>::name == "hrnet_w32_up2");
  CHECK(mm::hrnet<mm::hrnet_config{.width = 24}>::name == "hrnet_w24");
  CHECK(mm::hrnet<mm::hrnet_config{.width = 16, .stage_modules = {1, 2, 1}, .blocks = 3}>::name ==
        "hrnet_w16_m121_b3");
  CHECK(mm::hrnet<mm::hrnet_w32>::output_stride == 4);
  CHECK(mm::hrnet<w32_up>::output_stride == 2);
}

// Paper (Sun et al. 2019, Table 1): W32 28.5M, W48 63.6M for the 17 COCO
// keypoints and an RGB input. Exact numbers are those of
// benchmarks/hrnet_reference.py (PyTorch) for the same configuration.
TEST_CASE("hrnet parameter counts match the paper and the PyTorch reference", "[hrnet]") {
  const auto w32 = count<mm::hrnet_w32>(17, 3);
  const auto w48 = count<mm::hrnet_w48>(17, 3);
  INFO("W32 " << w32 << ", W48 " << w48);
  CHECK(std::abs(static_cast<double>(w32) / 28.5e6 - 1) < 0.002);
  CHECK(std::abs(static_cast<double>(w48) / 63.6e6 - 1) < 0.002);
  CHECK(w32 == 28'536'113);
  CHECK(w48 == 63'595'745);
  CHECK(count<mm::hrnet_w18>(17, 3) == 9'318'215);
  CHECK(count<mm::hrnet_small>(17, 3) == 1'925'327);
  CHECK(count<w32_up>(17, 3) == 28'552'561);

  // The head is a 1x1 conv: 32 weights + 1 bias per landmark for W32.
  CHECK(count<mm::hrnet_w32>(18, 3) - w32 == 33);
  CHECK(count<mm::hrnet_w32>(27, 3) - w32 == 10 * 33);
  // A grayscale stem has 2 * 64 * 3 * 3 fewer weights than an RGB one.
  CHECK(w32 - count<mm::hrnet_w32>(17, 1) == 2 * 64 * 9);
}

TEST_CASE("hrnet parameter names follow the reference implementation", "[hrnet]") {
  const auto model = mm::hrnet<mm::hrnet_w32>::build({.num_landmarks = 17, .in_channels = 3});
  std::set<std::string> names;
  for (const auto& p : model->named_parameters()) names.insert(p.key());
  for (const auto& b : model->named_buffers()) names.insert(b.key());
  for (const char* expected : {
           "conv1.weight", "bn1.running_mean", "bn2.num_batches_tracked", "layer1.0.conv3.weight",
           "layer1.0.downsample.0.weight", "layer1.0.downsample.1.bias", "layer1.3.bn3.weight",
           "transition1.0.0.weight", "transition1.1.0.0.weight", "transition1.1.0.1.running_var",
           "transition2.2.0.0.weight", "transition3.3.0.0.weight", "stage2.0.branches.1.3.conv2.weight",
           "stage2.0.fuse_layers.0.1.0.weight", "stage2.0.fuse_layers.1.0.0.0.weight",
           "stage3.3.fuse_layers.2.0.0.0.weight", "stage3.3.fuse_layers.2.0.1.0.weight",
           "stage4.2.branches.3.3.bn2.weight", "stage4.2.fuse_layers.0.3.1.weight", "final_layer.weight",
           "final_layer.bias"}) {
    INFO(expected);
    CHECK(names.count(expected) == 1);
  }
  // No modules where the reference has None, and the last module fuses into branch 0 only.
  CHECK(names.count("transition2.0.0.weight") == 0);
  CHECK(names.count("stage2.0.fuse_layers.0.0.0.weight") == 0);
  CHECK(names.count("stage4.2.fuse_layers.1.0.0.0.weight") == 0);
  CHECK(names.count("stage4.1.fuse_layers.1.0.0.0.weight") == 1);
}

TEST_CASE("hrnet output shapes", "[hrnet]") {
  torch::NoGradGuard no_grad;
  {
    auto model = mm::hrnet<mm::hrnet_w32>::build({.num_landmarks = 17, .in_channels = 1});
    model->eval();
    CHECK(model->forward(torch::randn({1, 1, 256, 256})).sizes() == torch::IntArrayRef{1, 17, 64, 64});
  }
  auto small = mm::hrnet<mm::hrnet_small>::build({.num_landmarks = 5, .in_channels = 1});
  small->eval();
  CHECK(small->forward(torch::randn({2, 1, 256, 256})).sizes() == torch::IntArrayRef{2, 5, 64, 64});
  // Sizes that are not multiples of 32 still fuse (upsampling to the exact size).
  CHECK(small->forward(torch::randn({1, 1, 200, 136})).sizes() == torch::IntArrayRef{1, 5, 50, 34});

  auto up = mm::hrnet<small_up>::build({.num_landmarks = 5, .in_channels = 3});
  up->eval();
  CHECK(up->forward(torch::randn({1, 3, 256, 256})).sizes() == torch::IntArrayRef{1, 5, 128, 128});
}

TEST_CASE("hrnet_small trains: forward, backward and a falling loss", "[hrnet]") {
  torch::manual_seed(0);
  auto model = mm::hrnet<mm::hrnet_small>::build({.num_landmarks = 3, .in_channels = 1});
  model->train();
  const auto input = torch::randn({2, 1, 64, 64});
  const auto target = torch::rand({2, 3, 16, 16});
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));
  double first = 0, last = 0;
  for (int step = 0; step < 5; ++step) {
    optimizer.zero_grad();
    const auto loss = (model->forward(input) - target).square().mean();
    loss.backward();
    if (step == 0) {
      for (const auto& p : model->named_parameters()) {
        INFO(p.key());
        REQUIRE(p.value().grad().defined());
        CHECK(p.value().grad().isfinite().all().item<bool>());
      }
      first = loss.item<double>();
    }
    last = loss.item<double>();
    optimizer.step();
  }
  CHECK(last < first);
}

TEST_CASE("hrnet clone is a working deep copy", "[hrnet]") {
  torch::manual_seed(1);
  auto model = mm::hrnet<mm::hrnet_small>::build({.num_landmarks = 2, .in_channels = 1});
  {
    // Non-default weights everywhere, so a copy that silently re-initialised shows.
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) p.normal_(0, 0.05);
  }
  model->eval();
  auto copy = std::dynamic_pointer_cast<mm::hrnet_networkImpl>(model->clone());
  REQUIRE(copy);
  const auto input = torch::randn({1, 1, 64, 64});
  torch::NoGradGuard no_grad;
  const auto expected = model->forward(input);
  CHECK(torch::equal(copy->forward(input), expected));
  // Independent storage: changing the copy leaves the original alone.
  for (auto& p : copy->parameters()) p.zero_();
  CHECK(torch::equal(model->forward(input), expected));
  CHECK(!torch::equal(copy->forward(input), expected));
}

}  // namespace test_hrnet
