// Landmark losses against values computed by hand with plain doubles.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include <torch/torch.h>

#include "mixtrain/loss/adaptive_wing.hpp"
#include "mixtrain/loss/heatmap_mse.hpp"

namespace loss = mixtrain::loss;

namespace test_loss {
namespace {

// The paper's formula, written independently of the header, paper defaults.
double awing(double y, double p) {
  const double omega = 14, theta = 0.5, epsilon = 1, alpha = 2.1;
  const double d = std::abs(y - p);
  if (d < theta) return omega * std::log(1 + std::pow(d / epsilon, alpha - y));
  const double r = theta / epsilon;
  const double a = omega * (1 / (1 + std::pow(r, alpha - y))) * (alpha - y) *
                   std::pow(r, alpha - y - 1) * (1 / epsilon);
  const double c = theta * a - omega * std::log(1 + std::pow(r, alpha - y));
  return a * d - c;
}

torch::Tensor map(std::vector<float> values, std::int64_t b, std::int64_t l, std::int64_t h, std::int64_t w) {
  return torch::tensor(values).view({b, l, h, w});
}

using plain_awing = loss::adaptive_wing<{.foreground_weight = 0}>;

}  // namespace

TEST_CASE("heatmap_mse matches hand values and ignores missing landmarks", "[loss]") {
  // Landmark 0: squared errors 0.25 and 0 -> 0.125; landmark 1: 1 and 1 -> 1.
  const auto pred = map({0.5F, 0.0F, 1.0F, 1.0F}, 1, 2, 1, 2);
  const auto target = map({1.0F, 0.0F, 0.0F, 0.0F}, 1, 2, 1, 2);
  const loss::heatmap_mse mse;
  CHECK(mse(pred, target, torch::tensor({{1.0F, 1.0F}})).item<double>() == Approx((0.125 + 1.0) / 2));
  CHECK(mse(pred, target, torch::tensor({{1.0F, 0.0F}})).item<double>() == Approx(0.125));
  CHECK(mse(pred, target, torch::tensor({{0.0F, 1.0F}})).item<double>() == Approx(1.0));
  // Nothing annotated: zero, not NaN.
  CHECK(mse(pred, target, torch::tensor({{0.0F, 0.0F}})).item<double>() == 0.0);
}

TEST_CASE("adaptive wing hand formula agrees with worked numbers", "[loss]") {
  // Worked by hand: 14 ln(1 + 0.2^1.1) and the linear piece at y=0, d=0.7.
  CHECK(awing(1.0, 0.8) == Approx(2.2013).epsilon(1e-4));
  CHECK(awing(0.0, 0.7) == Approx(5.1596).epsilon(1e-4));
  CHECK(awing(0.3, 0.3) == 0.0);
}

TEST_CASE("adaptive wing pixel loss matches the formula in both pieces", "[loss]") {
  const std::vector<float> ys = {0.0F, 0.0F, 0.0F, 1.0F, 1.0F, 0.5F, 0.5F, 0.2F};
  const std::vector<float> ps = {0.1F, 0.49F, 0.9F, 0.8F, -0.2F, 0.5F, 1.4F, 0.6F};
  const auto got = plain_awing::pixel_loss(map(ps, 1, 1, 1, 8), map(ys, 1, 1, 1, 8)).flatten();
  for (std::size_t i = 0; i < ys.size(); ++i) {
    INFO("y " << ys[i] << ", p " << ps[i]);
    CHECK(got[static_cast<std::int64_t>(i)].item<double>() == Approx(awing(ys[i], ps[i])).epsilon(1e-5).margin(1e-6));
  }
}

TEST_CASE("adaptive wing is continuous at theta", "[loss]") {
  for (float y : {0.0F, 0.4F, 1.0F}) {
    const auto below = plain_awing::pixel_loss(map({y - 0.4999F}, 1, 1, 1, 1), map({y}, 1, 1, 1, 1));
    const auto above = plain_awing::pixel_loss(map({y - 0.5001F}, 1, 1, 1, 1), map({y}, 1, 1, 1, 1));
    CHECK(below.item<double>() == Approx(above.item<double>()).epsilon(1e-3));
  }
}

TEST_CASE("adaptive wing weights landmarks and skips missing ones", "[loss]") {
  // Landmark 0 is a small error; landmark 1 a large one that is "missing".
  const auto pred = map({0.9F, 0.1F, 0.0F, 0.0F}, 1, 2, 1, 2);
  const auto target = map({1.0F, 0.0F, 1.0F, 1.0F}, 1, 2, 1, 2);
  const double lm0 = (awing(1.0, 0.9) + awing(0.0, 0.1)) / 2;
  const double lm1 = (awing(1.0, 0.0) + awing(1.0, 0.0)) / 2;
  const plain_awing aw;
  CHECK(aw(pred, target, torch::tensor({{1.0F, 0.0F}})).item<double>() == Approx(lm0).epsilon(1e-5));
  CHECK(aw(pred, target, torch::tensor({{1.0F, 1.0F}})).item<double>() == Approx((lm0 + lm1) / 2).epsilon(1e-5));
  CHECK(aw(pred, target, torch::tensor({{0.0F, 0.0F}})).item<double>() == 0.0);
}

TEST_CASE("adaptive wing foreground map weights the dilated peak by 1 + W", "[loss]") {
  // 5x5 target: a peak of 1 at (2,2) (foreground) and 0.1 at (0,0) (below the
  // 0.2 threshold). The 3x3 dilation of the peak covers rows/cols 1..3.
  std::vector<float> y(25, 0.0F);
  y[2 * 5 + 2] = 1.0F;
  y[0] = 0.1F;
  std::vector<float> p(25, 0.05F);
  const auto target = map(y, 1, 1, 5, 5);
  const auto pred = map(p, 1, 1, 5, 5);

  double expected = 0;
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) {
      const bool fg = i >= 1 && i <= 3 && j >= 1 && j <= 3;
      expected += awing(y[i * 5 + j], p[i * 5 + j]) * (fg ? 11.0 : 1.0);
    }
  expected /= 25;

  const loss::adaptive_wing<> paper;  // W = 10 by default
  CHECK(paper(pred, target, torch::ones({1, 1})).item<double>() == Approx(expected).epsilon(1e-5));
  const auto weights = loss::adaptive_wing<>::foreground_map(target);
  CHECK(weights.sum().item<double>() == Approx(9 * 11 + 16));
}

TEST_CASE("adaptive wing has finite gradients, also where prediction equals target", "[loss]") {
  auto target = torch::rand({2, 3, 8, 8});
  auto pred = target.clone();
  pred.slice(3, 0, 4).add_(torch::randn({2, 3, 8, 4}));
  pred.requires_grad_();
  const loss::adaptive_wing<> aw;
  aw(pred, target, torch::ones({2, 3})).backward();
  CHECK(pred.grad().isfinite().all().item<bool>());
  CHECK(pred.grad().abs().sum().item<double>() > 0);
}

}  // namespace test_loss
