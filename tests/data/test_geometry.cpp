// The single input transform and its exact inverse.
#include <catch2/catch.hpp>

#include <random>

#include <opencv2/imgproc.hpp>

#include <mixtrain/augment/affine.hpp>
#include <mixtrain/data/geometry.hpp>

using namespace mixtrain;

TEST_CASE("points mapped through the input transform and back land within 1e-3 px") {
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<int> side(500, 2700);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const augment::affine<{.rotate_deg = 15, .scale = {0.8, 1.2}, .shift_fraction = 0.1}> augmentation;
  for (int trial = 0; trial < 200; ++trial) {
    const int w = side(rng), h = side(rng);
    const data::input_size input{trial % 2 ? 1024 : 256, trial % 3 ? 256 : 512};
    const auto forward = data::compose(augmentation.sample(rng, input), data::letterbox(w, h, input));
    const auto backward = data::invert(forward);
    const data::point p{unit(rng) * w, unit(rng) * h};
    const auto round_trip = data::apply(backward, data::apply(forward, p));
    CHECK(std::abs(round_trip.x - p.x) < 1e-3);
    CHECK(std::abs(round_trip.y - p.y) < 1e-3);
  }
}

TEST_CASE("the letterbox preserves aspect ratio and centres the image") {
  const data::input_size input{256, 256};
  const auto m = data::letterbox(2000, 1000, input);
  CHECK(m(0, 0) == Approx(0.128));
  CHECK(m(1, 1) == Approx(0.128));
  CHECK(m(0, 1) == 0);
  // The image's outer edges map to the input's left/right edges and a centred band.
  const auto top_left = data::apply(m, {-0.5, -0.5});
  const auto bottom_right = data::apply(m, {1999.5, 999.5});
  CHECK(top_left.x == Approx(-0.5));
  CHECK(bottom_right.x == Approx(255.5));
  CHECK(top_left.y == Approx(128 - 64 - 0.5));
  CHECK(bottom_right.y == Approx(128 + 64 - 0.5));
}

TEST_CASE("warping an image moves a marked pixel exactly where the matrix moves its landmark") {
  cv::Mat image(900, 1300, CV_8UC1, cv::Scalar(0));
  cv::circle(image, cv::Point(811, 378), 9, cv::Scalar(255), cv::FILLED);
  const data::input_size input{320, 256};
  const auto m = data::compose(data::about_centre(input, 12.0, 1.1, 7.0, -5.0), data::letterbox(image.cols, image.rows, input));
  cv::Mat out;
  cv::warpAffine(image, out, cv::Mat(m), cv::Size(input.width, input.height), cv::INTER_LINEAR);
  const auto moments = cv::moments(out, false);
  const double cx = moments.m10 / moments.m00, cy = moments.m01 / moments.m00;
  const auto expected = data::apply(m, {811.0, 378.0});
  CHECK(std::abs(cx - expected.x) < 0.15);
  CHECK(std::abs(cy - expected.y) < 0.15);
}

TEST_CASE("a reduced decode maps back to original pixel centres") {
  const auto m = data::reduced_to_original(4.0);
  // Reduced pixel 0 covers original pixels 0..3, centre 1.5.
  CHECK(data::apply(m, {0, 0}).x == Approx(1.5));
  CHECK(data::apply(m, {10, 0}).x == Approx(41.5));
}
