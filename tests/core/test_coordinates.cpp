// Coordinates end to end, against hand arithmetic: perfect Gaussian heatmaps
// placed where known landmarks must land give the landmarks back in original
// pixels, through the real pipeline (letterbox, reduced-resolution decoding of
// large images, in-order batches), the trainer's evaluation and the task's
// DARK decoding and inverse mapping. The heatmap positions come from the
// documented convention (pixel centres; x_in + 0.5 = s (x + 0.5) + pad;
// x_heat = (x_in + 0.5) / stride - 0.5), not from the library's matrices.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include <mixtrain/core/trainer.hpp>
#include <mixtrain/data/aariz.hpp>
#include <mixtrain/heatmap/render.hpp>
#include <mixtrain/optim/adamw.hpp>
#include <mixtrain/task/landmark_heatmaps.hpp>

#include "oracle_model.hpp"
#include "../support/temporary_directory.hpp"

namespace mt = mixtrain;

namespace test_coordinates {
namespace {

constexpr int input_side = 128;
constexpr int stride = 4;
constexpr int heat_side = input_side / stride;
constexpr double sigma = 2.0;

struct coordinates_tag {};
using oracleImpl = mixtrain_test::oracle_modelImpl<coordinates_tag>;
using oracle_spec = mixtrain_test::oracle_spec<coordinates_tag, stride>;

using recipe = mt::recipe<oracle_spec, mt::data::aariz<{.image_size = {input_side, input_side}}>,
                          mt::task::landmark_heatmaps<{.sigma = sigma}>, mt::optim::adamw<>,
                          mt::fit<{.batch_size = 2, .num_workers = 2}>>;

// Hand arithmetic of the letterbox for one original coordinate.
double to_heatmap(double x, int original_extent, double scale, int input_extent) {
  const double pad = (input_extent - scale * original_extent) / 2.0;
  const double x_in = scale * (x + 0.5) + pad - 0.5;
  return (x_in + 0.5) / stride - 0.5;
}

}  // namespace

TEST_CASE("perfect heatmaps at known landmarks decode to those landmarks within 0.1 original pixels") {
  mixtrain::testing::temporary_directory dir;
  const std::vector<cv::Size> sizes = {{1000, 700}, {640, 960}, {333, 517}, {1530, 1210}, {96, 80}};
  constexpr int landmarks = 4;
  mt::data::split split{"valid", {}};
  std::mt19937_64 rng(11);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const auto [w, h] = sizes[i];
    mt::data::annotated_image image;
    image.id = "img" + std::to_string(i);
    image.image_path = dir.path() / (image.id + ".png");
    cv::Mat pixels(h, w, CV_8UC1, cv::Scalar(40 + 30 * static_cast<int>(i)));
    REQUIRE(cv::imwrite(image.image_path.string(), pixels));
    image.width = w;
    image.height = h;
    image.pixel_size_mm = 0.1;
    // The middle 40% of each side: at least 3 sigma from the heatmap's border,
    // where a perfect Gaussian is untruncated and DARK's Taylor step is exact.
    std::uniform_real_distribution<double> x(0.3 * w, 0.7 * w), y(0.3 * h, 0.7 * h);
    for (int k = 0; k < landmarks; ++k) image.landmarks.push_back({x(rng), y(rng)});
    image.present.assign(landmarks, 1);
    split.images.push_back(image);
  }

  // Gaussians where each landmark must land at heatmap resolution.
  auto coords = torch::zeros({static_cast<long>(sizes.size()), landmarks, 2}, torch::kFloat64);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const auto& image = split.images[i];
    const double s = std::min(static_cast<double>(input_side) / image.width, static_cast<double>(input_side) / image.height);
    for (int k = 0; k < landmarks; ++k) {
      coords[static_cast<long>(i)][k][0] = to_heatmap(image.landmarks[static_cast<std::size_t>(k)].x, image.width, s, input_side);
      coords[static_cast<long>(i)][k][1] = to_heatmap(image.landmarks[static_cast<std::size_t>(k)].y, image.height, s, input_side);
    }
  }
  oracleImpl::heatmaps = mt::heatmap::render_gaussian(coords.to(torch::kFloat32), heat_side, heat_side, sigma);

  mt::trainer<recipe> t;
  t.run.output_dir = dir.path() / "run";
  mt::data::landmark_set set{{"A", "B", "C", "D"}, {"A", "B", "C", "D"}};
  t.build(set);

  SECTION("through evaluate, with metrics") {
    oracleImpl::cursor = 0;
    const auto result = t.evaluate(split);
    CHECK(oracleImpl::cursor == static_cast<std::int64_t>(sizes.size()));
    for (std::size_t i = 0; i < sizes.size(); ++i)
      for (int k = 0; k < landmarks; ++k) {
        const auto& truth = split.images[i].landmarks[static_cast<std::size_t>(k)];
        const auto& got = result.predictions[i][static_cast<std::size_t>(k)];
        INFO("image " << i << " (" << sizes[i].width << "x" << sizes[i].height << "), landmark " << k);
        CHECK(std::abs(got.x - truth.x) < 0.1);
        CHECK(std::abs(got.y - truth.y) < 0.1);
      }
    CHECK(result.metrics.val_mre < 0.1 * 0.1);  // mm: under 0.1 px at 0.1 mm per pixel
    CHECK(result.metrics.val_sdr_2mm == 1.0);
  }

  SECTION("through predict's path: images without annotations") {
    mt::data::split unannotated{"predict", {}};
    for (const auto& image : split.images) {
      auto bare = image;
      bare.present.assign(landmarks, 0);
      for (auto& p : bare.landmarks) p = {0, 0};
      unannotated.images.push_back(bare);
    }
    oracleImpl::cursor = 0;
    const auto result = t.evaluate(unannotated);
    for (std::size_t i = 0; i < sizes.size(); ++i)
      for (int k = 0; k < landmarks; ++k) {
        const auto& truth = split.images[i].landmarks[static_cast<std::size_t>(k)];
        const auto& got = result.predictions[i][static_cast<std::size_t>(k)];
        CHECK(std::hypot(got.x - truth.x, got.y - truth.y) < 0.1);
      }
  }

  SECTION("a heatmap one pixel off is caught") {
    oracleImpl::heatmaps = mt::heatmap::render_gaussian((coords + 1.0).to(torch::kFloat32), heat_side, heat_side, sigma);
    oracleImpl::cursor = 0;
    const auto result = t.evaluate(split);
    // One heatmap pixel is stride / scale original pixels: far above 0.1.
    CHECK(result.metrics.val_mre > 0.1);
  }
}

}  // namespace test_coordinates
