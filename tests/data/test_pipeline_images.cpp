// Geometry through the image path: reduced JPEG decoding and the augmented
// warp keep a landmark on its image feature; noise is deterministic; the
// per-sample memory bound covers the decoder's buffers.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <mixtrain/augment/noise.hpp>
#include <mixtrain/data/image_file.hpp>

#include "pipeline_support.hpp"

namespace fs = std::filesystem;
using namespace mixtrain;
using namespace mixtrain::testing::pipeline;

TEST_CASE("pipeline: reduced decoding maps back to original pixel centres within a tenth of a pixel") {
  temporary_directory dir;
  // Odd sizes: libjpeg rounds the reduced size up, so the width ratio is not the factor.
  const cv::Size size(1001, 803);
  for (const data::point centre : {data::point{980.3, 780.6}, data::point{20.7, 18.2}, data::point{500.0, 400.5}}) {
    const auto file = blob_tree(dir.path() / "jpeg", ".jpg", size, centre, 6.0);
    const auto decoded = data::decode_grayscale(file, 0.3);  // DCT-scaled by 2
    REQUIRE(decoded.reduction == 2);
    REQUIRE(decoded.pixels.cols == 501);
    const auto found = data::apply(decoded.original_from_decoded(), centroid(decoded.pixels));
    INFO("centre " << centre.x << ", " << centre.y << " found " << found.x << ", " << found.y);
    CHECK(std::abs(found.x - centre.x) < 0.1);
    CHECK(std::abs(found.y - centre.y) < 0.1);
  }
}

TEST_CASE("pipeline: a landmark lands on its image feature through decode, halving and the augmented warp") {
  using geometric = data::augmentation_list<augment::affine<{.rotate_deg = 15, .scale = {0.9, 1.1}, .shift_fraction = 0.05}>>;
  for (const std::string extension : {".png", ".jpg", ".bmp"}) {
    temporary_directory dir;
    const data::point centre{700.3, 400.7};
    blob_tree(dir.path(), extension, cv::Size(1003, 801), centre, 24.0);
    data::landmark_set set;
    const auto split = data::read_aariz_split(dir.path(), "train", set);
    data::aariz_samples<geometric> samples(split, {128, 128}, geometric{}, true, 3, 0);
    std::int64_t scale_ns = 0;
    const auto loaded = samples.load(split.images[0], scale_ns);
    CHECK(loaded.pixels.cols <= 2 * 142);  // reduced to within 2x of what 128 px need
    CHECK(loaded.pixels.cols >= 141);
    std::vector<std::uint8_t> pixels(128 * 128);
    float landmark[2];
    float present = 0;
    data::affine transform;
    for (std::uint64_t epoch = 0; epoch < 3; ++epoch) {
      samples.produce({0, epoch}, {pixels.data(), landmark, &present, &transform});
      const auto found = centroid(cv::Mat(128, 128, CV_8UC1, pixels.data()));
      INFO(extension << " epoch " << epoch << ": landmark " << landmark[0] << ", " << landmark[1] << " blob " << found.x
                     << ", " << found.y);
      CHECK(present == 1.0f);
      CHECK(std::abs(found.x - landmark[0]) < 0.1);
      CHECK(std::abs(found.y - landmark[1]) < 0.1);
    }
  }
}

TEST_CASE("pipeline: noise on uint8 is deterministic and has the configured spread") {
  cv::Mat a(256, 256, CV_8UC1, cv::Scalar(128)), b = a.clone(), c = a.clone();
  augment::detail::noise_for(5.0).apply(a, 42);
  augment::detail::noise_for(5.0).apply(b, 42);
  augment::detail::noise_for(5.0).apply(c, 43);
  CHECK(cv::norm(a, b, cv::NORM_INF) == 0);
  CHECK(cv::norm(a, c, cv::NORM_INF) > 0);
  cv::Scalar mean, sd;
  cv::meanStdDev(a, mean, sd);
  CHECK(mean[0] == Approx(128).margin(0.1));
  CHECK(sd[0] == Approx(5.0).margin(0.15));
}

TEST_CASE("pipeline: the per-sample memory bound covers the decoder's buffers") {
  temporary_directory dir;
  cv::Mat image(300, 400, CV_8UC3, cv::Scalar(1, 2, 3));
  const auto png = dir.path() / "a.png";
  cv::imwrite(png.string(), image);
  const auto size = static_cast<std::size_t>(fs::file_size(png));
  // File + three-channel rows with filter bytes + gray output.
  CHECK(data::decode_bytes_bound(png) >= size + 300 * 1201 + 120000);
  const auto jpg = dir.path() / "a.jpg";
  cv::imwrite(jpg.string(), image, {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
  const auto header = data::parse_image_header(data::read_file_bytes(jpg));
  CHECK(header.interlaced);
  CHECK(header.channels == 3);
  CHECK(data::decode_bytes_bound(jpg) >= 2 * 3 * 400 * 300);  // every DCT coefficient is kept
}
