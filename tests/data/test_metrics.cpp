// Radial error metrics against values computed by hand.
#include <catch2/catch.hpp>

#include <mixtrain/metric/landmark_metrics.hpp>

using namespace mixtrain;

namespace test_metrics {
namespace {
data::annotated_image truth(std::vector<data::point> points, std::vector<std::uint8_t> present, double pixel_size) {
  data::annotated_image image;
  image.landmarks = std::move(points);
  image.present = std::move(present);
  image.pixel_size_mm = pixel_size;
  image.width = 100;
  image.height = 50;
  return image;
}
}  // namespace

TEST_CASE("MRE, SD and SDR match hand-computed values") {
  metric::radial_errors errors(2);
  // Image 1 at 0.1 mm/px: errors 3-4-5 triangle = 5 px = 0.5 mm, and 30 px = 3 mm.
  errors.add(truth({{10, 10}, {0, 0}}, {1, 1}, 0.1), {{13, 14}, {30, 0}});
  // Image 2 at 0.2 mm/px: 12 px = 2.4 mm, and 20 px = 4 mm.
  errors.add(truth({{0, 0}, {5, 5}}, {1, 1}, 0.2), {{0, 12}, {5, 25}});
  const auto all = errors.overall();
  // errors: 0.5, 3.0, 2.4, 4.0 -> mean 2.475
  CHECK(all.count == 4);
  CHECK(all.mre_mm == Approx(2.475));
  // sample SD: sqrt(((−1.975)^2 + 0.525^2 + (−0.075)^2 + 1.525^2) / 3) = sqrt(6.5075 / 3)
  CHECK(all.sd_mm == Approx(std::sqrt(6.5075 / 3.0)));
  CHECK(all.sdr[0] == Approx(0.25));  // <= 2 mm: 0.5
  CHECK(all.sdr[1] == Approx(0.5));   // <= 2.5 mm: 0.5, 2.4
  CHECK(all.sdr[2] == Approx(0.75));  // <= 3 mm: also 3.0 (inclusive)
  CHECK(all.sdr[3] == Approx(1.0));   // <= 4 mm: all
  const auto first = errors.landmark(0);
  CHECK(first.mre_mm == Approx((0.5 + 2.4) / 2));
  CHECK(first.sd_mm == Approx(std::sqrt(2 * 0.95 * 0.95)));
  CHECK(errors.landmark(1).mre_mm == Approx(3.5));
}

TEST_CASE("landmarks nobody annotated do not count") {
  metric::radial_errors errors(2);
  errors.add(truth({{0, 0}, {0, 0}}, {1, 0}, 0.1), {{10, 0}, {500, 500}});
  CHECK(errors.overall().count == 1);
  CHECK(errors.overall().mre_mm == Approx(1.0));
  CHECK(errors.landmark(1).count == 0);
}

TEST_CASE("the mean-shape baseline predicts the training mean in the letterbox frame") {
  data::split train;
  // 100x50 images: the letterbox frame is the 100x100 square centred on them (y from -25).
  train.images.push_back(truth({{10, 0}, {50, 25}}, {1, 1}, 0.1));
  train.images.push_back(truth({{30, 10}, {70, 25}}, {1, 1}, 0.1));
  const metric::mean_shape_baseline baseline(train);
  const auto predicted = baseline.predict(train.images[0]);
  CHECK(predicted[0].x == Approx(20));
  CHECK(predicted[0].y == Approx(5));
  CHECK(predicted[1].x == Approx(60));
  // A larger image of the same shape scales the prediction with it.
  auto big = truth({{0, 0}, {0, 0}}, {1, 1}, 0.1);
  big.width = 200;
  big.height = 100;
  CHECK(baseline.predict(big)[0].x == Approx(40));
  CHECK(baseline.predict(big)[0].y == Approx(10));
}

}  // namespace test_metrics
