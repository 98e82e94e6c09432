// Evaluation files and overlays against hand values: radial errors of 3-4-5
// triangles, per-device grouping, CSV rows, and the colours drawn per error.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include <mixtrain/app/evaluation_files.hpp>
#include <mixtrain/app/overlay.hpp>

namespace {

namespace app = mixtrain::app;
namespace data = mixtrain::data;

data::annotated_image image(std::string id, std::string device, double pixel_size) {
  data::annotated_image a;
  a.id = std::move(id);
  a.device = std::move(device);
  a.pixel_size_mm = pixel_size;
  a.landmarks = {{10, 10}, {50, 20}};
  a.present = {1, 1};
  return a;
}

}  // namespace

TEST_CASE("radial error table, per device summaries and CSV rows match hand values", "[evaluation_files]") {
  data::split set{"test", {image("a", "M1", 0.1), image("b", "M2", 0.2), image("c", "M1", 0.1)}};
  set.images[2].present = {1, 0};
  // Offsets (3, 4) = 5 px and (6, 8) = 10 px.
  const std::vector<std::vector<data::point>> predicted = {
      {{13, 14}, {56, 28}}, {{13, 14}, {50, 20}}, {{10, 10}, {0, 0}}};
  const auto errors = app::radial_error_table(set, predicted);
  CHECK(errors[0][0] == Approx(0.5));
  CHECK(errors[0][1] == Approx(1.0));
  CHECK(errors[1][0] == Approx(1.0));  // 5 px at 0.2 mm
  CHECK(errors[1][1] == Approx(0.0));
  CHECK(errors[2][0] == Approx(0.0));
  CHECK(std::isnan(errors[2][1]));  // not annotated
  CHECK(app::all_errors(errors).size() == 5);

  const auto devices = app::per_device_summaries(set, errors);
  REQUIRE(devices.size() == 2);
  CHECK(devices.at("M1").count == 3);
  CHECK(devices.at("M1").mre_mm == Approx((0.5 + 1.0 + 0.0) / 3));
  CHECK(devices.at("M2").mre_mm == Approx(0.5));
  CHECK(app::per_device_json(set, devices)["M1"]["images"] == 2);
  CHECK(app::per_device_csv(set, devices) ==
        "device,images,n,mre_mm,sd_mm,sdr_2mm,sdr_2_5mm,sdr_3mm,sdr_4mm\n"
        "M1,2,3,0.5000,0.5000,1.0000,1.0000,1.0000,1.0000\n"
        "M2,1,2,0.5000,0.7071,1.0000,1.0000,1.0000,1.0000\n");

  data::landmark_set landmarks{{"S", "N"}, {"Sella", "Nasion"}};
  const auto csv = app::predictions_csv(set, predicted, {{0.9f, 0.5f}}, landmarks, errors);
  CHECK(csv.find("a,S,13.000,14.000,10.000,10.000,0.5000,0.9000\n") != std::string::npos);
  CHECK(csv.find("c,N,0.000,0.000,,,,\n") != std::string::npos);  // no truth, no confidence given
}

TEST_CASE("overlay marks each prediction in the colour of its error and keeps the original size", "[evaluation_files]") {
  const cv::Mat gray(300, 400, CV_8UC1, cv::Scalar(40));
  const std::vector<data::point> truth = {{100, 100}, {300, 200}};
  const std::vector<std::uint8_t> present = {1, 1};
  // 10 px at 0.1 mm = 1 mm (green); 50 px = 5 mm (red).
  const std::vector<data::point> predicted = {{110, 100}, {300, 250}};
  const auto out = app::draw_landmarks(gray, {"S", "N"}, predicted, {&truth, &present, 0.1});
  REQUIRE(out.size() == gray.size());
  REQUIRE(out.type() == CV_8UC3);
  const auto green = out.at<cv::Vec3b>(100, 110);
  const auto red = out.at<cv::Vec3b>(250, 300);
  CHECK(green[1] > 150);
  CHECK(green[2] < 120);
  CHECK(red[2] > 200);
  CHECK(red[1] < 120);
  CHECK(out.at<cv::Vec3b>(10, 10) == cv::Vec3b(40, 40, 40));  // untouched background

  const auto thumb = app::crop_thumbnail(out, {100, 100}, 50, 64);
  CHECK(thumb.cols == 64);
  CHECK(thumb.rows == 64);
  CHECK(app::fit_width(out, 200).size() == cv::Size(200, 150));
}
