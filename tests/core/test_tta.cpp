// Test-time augmentation through the real pipeline and the trainer's
// evaluation: identity views change nothing, and every view's prediction goes
// back through the inverse of its own transform before an image's views are
// averaged (a wrong pairing is caught).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include <mixtrain/augment/tta.hpp>
#include <mixtrain/core/trainer.hpp>
#include <mixtrain/data/aariz.hpp>
#include <mixtrain/data/synthetic_aariz.hpp>
#include <mixtrain/heatmap/render.hpp>
#include <mixtrain/model/compact_unet.hpp>
#include <mixtrain/optim/adamw.hpp>
#include <mixtrain/task/landmark_heatmaps.hpp>

#include "oracle_model.hpp"
#include "../support/temporary_directory.hpp"

namespace mt = mixtrain;

namespace test_tta {
namespace {

constexpr int input_side = 128;
constexpr int stride = 4;
constexpr int heat_side = input_side / stride;
constexpr double sigma = 2.0;

struct tta_tag {};
using tta_oracleImpl = mixtrain_test::oracle_modelImpl<tta_tag>;
using tta_oracle_spec = mixtrain_test::oracle_spec<tta_tag, stride>;

using oracle_recipe = mt::recipe<tta_oracle_spec, mt::data::aariz<{.image_size = {input_side, input_side}}>,
                                 mt::task::landmark_heatmaps<{.sigma = sigma}>, mt::optim::adamw<>,
                                 mt::fit<{.batch_size = 3, .num_workers = 2}>>;

using unet_recipe = mt::recipe<mt::model::compact_unet<{.width = 8}>, mt::data::aariz<{.image_size = {64, 64}}>,
                               mt::task::landmark_heatmaps<>, mt::optim::adamw<>, mt::fit<{.batch_size = 2, .num_workers = 2}>>;

double largest_distance(const std::vector<std::vector<mt::data::point>>& a, const std::vector<std::vector<mt::data::point>>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t k = 0; k < a[i].size(); ++k)
      worst = std::max(worst, std::hypot(a[i][k].x - b[i][k].x, a[i][k].y - b[i][k].y));
  return worst;
}

}  // namespace

TEST_CASE("identity TTA views give the coordinates of no TTA within 1e-3 px on a real model") {
  mixtrain::testing::temporary_directory dir;
  mt::data::synthetic_options options;
  options.train_images = 5;
  options.valid_images = 0;
  options.test_images = 0;
  options.min_side = 96;
  options.max_side = 200;
  mt::data::write_synthetic_aariz(dir.path(), options);
  mt::trainer<unet_recipe> t;
  mt::data::landmark_set landmarks;
  const auto split = t.data.read_split(dir.path(), "train", landmarks);
  t.run.output_dir = dir.path() / "run";
  torch::manual_seed(3);
  t.build(landmarks);

  const auto plain = t.evaluate(split);
  for (const std::vector<double>& identities : {std::vector<double>{1.0}, std::vector<double>{1.0, 1.0, 1.0}}) {
    t.data.tta.scales = identities;  // each scale 1 is one more identity view
    const auto tta = t.evaluate(split);
    INFO(identities.size() + 1 << " identity views");
    REQUIRE(tta.predictions.size() == plain.predictions.size());
    CHECK(largest_distance(tta.predictions, plain.predictions) < 1e-3);
    CHECK(tta.metrics.val_mre == Approx(plain.metrics.val_mre).epsilon(1e-6));
    CHECK(tta.errors.overall().count == plain.errors.overall().count);  // each image scored once
    for (std::size_t i = 0; i < tta.confidences.size(); ++i)
      for (std::size_t k = 0; k < tta.confidences[i].size(); ++k)
        CHECK(tta.confidences[i][k] == Approx(plain.confidences[i][k]).margin(1e-5));
  }
}

TEST_CASE("each TTA view is decoded through its own inverse before the views are averaged") {
  mixtrain::testing::temporary_directory dir;
  const std::vector<cv::Size> sizes = {{1000, 700}, {640, 960}, {333, 517}, {96, 80}};
  constexpr int landmarks = 3;
  mt::data::split split{"valid", {}};
  std::mt19937_64 rng(5);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const auto [w, h] = sizes[i];
    mt::data::annotated_image image;
    image.id = "img" + std::to_string(i);
    image.image_path = dir.path() / (image.id + ".png");
    REQUIRE(cv::imwrite(image.image_path.string(), cv::Mat(h, w, CV_8UC1, cv::Scalar(90))));
    image.width = w;
    image.height = h;
    // The middle 40%: every view keeps the whole Gaussian on the heatmap.
    std::uniform_real_distribution<double> x(0.3 * w, 0.7 * w), y(0.3 * h, 0.7 * h);
    for (int k = 0; k < landmarks; ++k) image.landmarks.push_back({x(rng), y(rng)});
    image.present.assign(landmarks, 1);
    split.images.push_back(image);
  }
  // Asymmetric views, so that a wrong pairing cannot cancel in the mean.
  const mt::augment::tta_config config{{0.9, 1.15}, {6}, {-5, 8}};
  const mt::data::input_size input{input_side, input_side};
  const auto views = mt::augment::tta_views(config, input);
  REQUIRE(views.size() == 7);
  const auto n = static_cast<long>(sizes.size()), k_views = static_cast<long>(views.size());

  // The oracle's maps for image i, view v: Gaussians where view `pairing(v)` puts the truth.
  const auto maps_for = [&](auto pairing) {
    auto coords = torch::zeros({n * k_views, landmarks, 2}, torch::kFloat64);
    for (long i = 0; i < n; ++i)
      for (long v = 0; v < k_views; ++v) {
        const auto& image = split.images[static_cast<std::size_t>(i)];
        const auto m = mt::data::compose(views[static_cast<std::size_t>(pairing(v))],
                                         mt::data::letterbox(image.width, image.height, input));
        for (int k = 0; k < landmarks; ++k) {
          const auto p = mt::data::apply(m, image.landmarks[static_cast<std::size_t>(k)]);
          coords[i * k_views + v][k][0] = (p.x + 0.5) / stride - 0.5;
          coords[i * k_views + v][k][1] = (p.y + 0.5) / stride - 0.5;
        }
      }
    return mt::heatmap::render_gaussian(coords.to(torch::kFloat32), heat_side, heat_side, sigma);
  };

  mt::trainer<oracle_recipe> t;
  t.run.output_dir = dir.path() / "run";
  t.build({{"A", "B", "C"}, {"A", "B", "C"}});
  t.data.tta = config;

  // Largest and mean distance of an evaluation's predictions from the truth.
  const auto distances = [&](const auto& result) {
    double worst = 0, sum = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i)
      for (std::size_t k = 0; k < landmarks; ++k) {
        const auto& truth = split.images[i].landmarks[k];
        const auto& got = result.predictions[i][k];
        const double d = std::hypot(got.x - truth.x, got.y - truth.y);
        worst = std::max(worst, d);
        sum += d;
      }
    return std::pair{worst, sum / static_cast<double>(n * landmarks)};
  };

  tta_oracleImpl::heatmaps = maps_for([](long v) { return v; });
  tta_oracleImpl::cursor = 0;
  const auto own = t.evaluate(split);
  CHECK(tta_oracleImpl::cursor == n * k_views);  // every view of every image was run
  CHECK(own.errors.overall().count == static_cast<std::size_t>(n * landmarks));  // each image scored once
  const auto [own_worst, own_mean] = distances(own);
  INFO("own inverses: largest error " << own_worst << ", mean " << own_mean << " original px");
  CHECK(own_worst < 0.01);

  // Each view's maps decoded through the next view's inverse: the mean is off.
  // (Near the input centre the views barely move a point, and the mean over a
  // cycle of views partly cancels, so the check is relative.)
  tta_oracleImpl::heatmaps = maps_for([&](long v) { return (v + 1) % k_views; });
  tta_oracleImpl::cursor = 0;
  const auto [other_worst, other_mean] = distances(t.evaluate(split));
  INFO("another view's inverse: largest error " << other_worst << ", mean " << other_mean << " original px");
  CHECK(other_mean > 0.3);
  CHECK(other_mean > 5 * own_mean);
  CHECK(other_worst > 1.0);
}

TEST_CASE("the TTA flags pick a preset, lists replace its parts, and bad values are refused") {
  mt::data::aariz<{.image_size = {64, 64}}> source;
  CLI::App app;
  source.add_flags(app);
  app.parse("--tta default --tta_rotations 3", false);
  CHECK(source.tta.scales == std::vector<double>{0.95, 1.05});
  CHECK(source.tta.shifts == std::vector<double>{-8, 8});
  CHECK(source.tta.rotations == std::vector<double>{3});
  CHECK(mt::augment::tta_views(source.tta, {64, 64}).size() == 1 + 2 + 4 + 1);
  CHECK(source.describe().contains("tta"));

  mt::data::aariz<{.image_size = {64, 64}}> off;
  CLI::App plain;
  off.add_flags(plain);
  plain.parse("--tta default --tta off --tta_shifts -4 4", false);
  CHECK(off.tta.scales.empty());  // the last --tta wins; the list still applies
  CHECK(off.tta.shifts == std::vector<double>{-4, 4});
  CHECK(mt::augment::tta_views(off.tta, {64, 64}).size() == 5);
  mt::data::aariz<{.image_size = {64, 64}}> none;
  CHECK_FALSE(none.tta.enabled());
  CHECK(mt::augment::tta_views(none.tta, {64, 64}).empty());
  CHECK_FALSE(none.describe().contains("tta"));

  for (const auto* bad : {"--tta_scales 0.1", "--tta_rotations 90", "--tta_shifts x", "--tta sometimes"}) {
    mt::data::aariz<{.image_size = {64, 64}}> refused;
    CLI::App strict;
    refused.add_flags(strict);
    INFO(bad);
    CHECK_THROWS_AS(strict.parse(bad, false), CLI::ValidationError);
  }
}

}  // namespace test_tta
