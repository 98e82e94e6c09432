// Heatmap decoders against Gaussians rendered at known sub-pixel centres.
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "mixtrain/heatmap/decode.hpp"
#include "mixtrain/heatmap/render.hpp"

namespace hm = mixtrain::heatmap;

namespace test_decode {
namespace {

constexpr std::int64_t batch = 4, landmarks = 6, size = 64;
constexpr double sigma = 2.0;

// Random centres away from the border, so the whole peak is on the map.
torch::Tensor random_centres(std::uint64_t seed) {
  torch::manual_seed(seed);
  return torch::rand({batch, landmarks, 2}) * (size - 16) + 8;
}

double max_error(const torch::Tensor& decoded, const torch::Tensor& truth) {
  return (decoded - truth).norm(2, {2}).max().item<double>();
}

}  // namespace

TEST_CASE("decoders keep batch shapes", "[decode]") {
  const auto maps = torch::rand({3, 7, 16, 24});
  CHECK(hm::argmax::decode(maps, sigma).sizes() == torch::IntArrayRef{3, 7, 2});
  CHECK(hm::dark::decode(maps, sigma).sizes() == torch::IntArrayRef{3, 7, 2});
  CHECK(hm::soft_argmax<>::decode(maps, sigma).sizes() == torch::IntArrayRef{3, 7, 2});
  CHECK(hm::argmax::decode(maps, sigma).dtype() == torch::kFloat32);
  CHECK(hm::dark::decode(maps, sigma).dtype() == torch::kFloat32);
}

TEST_CASE("argmax with quarter shift is within half a pixel", "[decode]") {
  const auto truth = random_centres(1);
  const auto maps = hm::render_gaussian(truth, size, size, sigma);
  const double error = max_error(hm::argmax::decode(maps, sigma), truth);
  INFO("argmax max error " << error << " px");
  CHECK(error <= 0.5);
}

TEST_CASE("argmax finds an exact integer peak", "[decode]") {
  const auto truth = torch::tensor({{{10.0F, 20.0F}, {0.0F, 63.0F}}});
  const auto decoded = hm::argmax::decode(hm::render_gaussian(truth, size, size, sigma), sigma);
  CHECK(max_error(decoded, truth) < 1e-6);
}

TEST_CASE("DARK is within 0.05 px on clean Gaussians", "[decode]") {
  for (std::uint64_t seed : {2U, 3U, 4U}) {
    const auto truth = random_centres(seed);
    const auto maps = hm::render_gaussian(truth, size, size, sigma);
    const double error = max_error(hm::dark::decode(maps, sigma), truth);
    INFO("seed " << seed << ": DARK max error " << error << " px");
    CHECK(error <= 0.05);
  }
}

TEST_CASE("DARK beats argmax on the same maps", "[decode]") {
  const auto truth = random_centres(5);
  const auto maps = hm::render_gaussian(truth, size, size, sigma);
  const auto dark_error = (hm::dark::decode(maps, sigma) - truth).norm(2, {2}).mean().item<double>();
  const auto argmax_error = (hm::argmax::decode(maps, sigma) - truth).norm(2, {2}).mean().item<double>();
  INFO("mean error DARK " << dark_error << ", argmax " << argmax_error);
  CHECK(dark_error < 0.25 * argmax_error);
}

TEST_CASE("DARK stays accurate on noisy maps", "[decode]") {
  // Network output is never a clean Gaussian; the modulation blur is what
  // keeps the log-Taylor step usable on it.
  const auto truth = random_centres(7);
  torch::manual_seed(8);
  const auto maps = hm::render_gaussian(truth, size, size, sigma) + 0.03 * torch::randn({batch, landmarks, size, size});
  const double dark_error = max_error(hm::dark::decode(maps, sigma), truth);
  const double argmax_error = max_error(hm::argmax::decode(maps, sigma), truth);
  INFO("noisy maps: DARK max error " << dark_error << " px, argmax " << argmax_error << " px");
  CHECK(dark_error <= 0.25);
  CHECK(dark_error < argmax_error);
}

TEST_CASE("DARK stays finite at border peaks and on flat maps", "[decode]") {
  const auto border = hm::render_gaussian(torch::tensor({{{0.0F, 0.0F}, {63.0F, 31.3F}}}), size, size, sigma);
  const auto decoded = hm::dark::decode(border, sigma);
  CHECK(decoded.isfinite().all().item<bool>());
  // A peak on the border keeps its integer position: no expansion is trusted there.
  CHECK(decoded[0][0][0].item<float>() == 0.0F);
  CHECK(decoded[0][1][0].item<float>() == 63.0F);

  const auto flat = torch::zeros({2, 3, 8, 8});
  CHECK(hm::dark::decode(flat, sigma).isfinite().all().item<bool>());
  CHECK(hm::argmax::decode(flat, sigma).isfinite().all().item<bool>());
  CHECK(hm::soft_argmax<>::decode(flat, sigma).isfinite().all().item<bool>());
}

TEST_CASE("soft-argmax is accurate on clean maps and differentiable", "[decode]") {
  const auto truth = random_centres(6);
  const auto maps = hm::render_gaussian(truth, size, size, sigma).requires_grad_();
  const auto decoded = hm::soft_argmax<>::decode(maps, sigma);
  const double error = max_error(decoded.detach(), truth);
  INFO("soft-argmax (beta " << hm::soft_argmax<>::beta << ") max error " << error << " px");
  CHECK(error <= 0.1);
  decoded.sum().backward();
  CHECK(maps.grad().defined());
  CHECK(maps.grad().abs().sum().item<double>() > 0);

  // A custom beta through the config NTTP.
  const auto sharp = hm::soft_argmax<{.beta = 100}>::decode(maps.detach(), sigma);
  CHECK(max_error(sharp, truth) <= 0.5);
}

}  // namespace test_decode
