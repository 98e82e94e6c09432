// TIFF (8/16-bit, little and big endian) and the 16-bit percentile window,
// for TIFF and PNG (the libdeflate path and OpenCV's). Expected values are
// computed here from the rule in image_window.hpp, not by calling it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include <mixtrain/data/aariz_reader.hpp>
#include <mixtrain/data/image_file.hpp>

#include "../support/data_files.hpp"
#include "../support/temporary_directory.hpp"

namespace fs = std::filesystem;
using namespace mixtrain;
using mixtrain::testing::temporary_directory;
using Catch::Contains;

namespace test_image_formats {
namespace {

using mixtrain::testing::write_bytes;

// 10 x 100, v = 1000 + 30 x, with row 0's first five pixels 0 and last five
// 65535: N = 1000, so the 5 lowest and 5 highest (the outliers) are dropped,
// lo = 1000 and hi = 3970, and column x of rows 1..9 becomes
// floor(255 * 30x / 2970 + 1/2) = floor(255 x / 99 + 1/2).
cv::Mat ramp16() {
  cv::Mat m(10, 100, CV_16UC1);
  for (int y = 0; y < m.rows; ++y)
    for (int x = 0; x < m.cols; ++x) m.at<std::uint16_t>(y, x) = static_cast<std::uint16_t>(1000 + 30 * x);
  for (int x = 0; x < 5; ++x) {
    m.at<std::uint16_t>(0, x) = 0;
    m.at<std::uint16_t>(0, 99 - x) = 65535;
  }
  return m;
}

int ramp_expected(int x) { return static_cast<int>(std::floor(255.0 * x / 99.0 + 0.5)); }

void check_ramp(const cv::Mat& decoded) {
  REQUIRE(decoded.type() == CV_8UC1);
  REQUIRE(decoded.size() == cv::Size(100, 10));
  for (int y = 1; y < 10; ++y)
    for (int x = 0; x < 100; ++x) {
      INFO("row " << y << ", column " << x);
      REQUIRE(static_cast<int>(decoded.at<std::uint8_t>(y, x)) == ramp_expected(x));
    }
  CHECK(decoded.at<std::uint8_t>(0, 0) == 0);      // below lo
  CHECK(decoded.at<std::uint8_t>(0, 99) == 255);  // above hi
  CHECK(decoded.at<std::uint8_t>(0, 50) == ramp_expected(50));
}

// A big-endian, uncompressed, one-strip 16-bit grey TIFF written byte by byte.
std::vector<std::uint8_t> big_endian_tiff16(const cv::Mat& m) {
  std::vector<std::uint8_t> b = {'M', 'M', 0, 42, 0, 0, 0, 8};
  auto u16 = [&](std::uint32_t v) { b.push_back(static_cast<std::uint8_t>(v >> 8)); b.push_back(static_cast<std::uint8_t>(v)); };
  auto u32 = [&](std::uint32_t v) { u16(v >> 16); u16(v & 0xFFFF); };
  const std::uint32_t entries = 9, data = 8 + 2 + 12 * entries + 4;
  u16(entries);
  auto entry = [&](std::uint32_t tag, std::uint32_t type, std::uint32_t value) {
    u16(tag), u16(type), u32(1);
    if (type == 3) u16(value), u16(0);
    else u32(value);
  };
  entry(256, 3, static_cast<std::uint32_t>(m.cols));  // width, SHORT
  entry(257, 4, static_cast<std::uint32_t>(m.rows));  // height, LONG
  entry(258, 3, 16);                                  // bits
  entry(259, 3, 1);                                   // no compression
  entry(262, 3, 1);                                   // black is zero
  entry(273, 4, data);                                // strip offset
  entry(277, 3, 1);                                   // one sample
  entry(278, 4, static_cast<std::uint32_t>(m.rows));  // rows per strip
  entry(279, 4, static_cast<std::uint32_t>(m.total() * 2));
  u32(0);  // no next directory
  for (int y = 0; y < m.rows; ++y)
    for (int x = 0; x < m.cols; ++x) u16(m.at<std::uint16_t>(y, x));
  return b;
}

}  // namespace

TEST_CASE("formats: 8-bit grey and RGB TIFF decode like the same PNG", "[formats]") {
  temporary_directory dir;
  cv::Mat gray(70, 90, CV_8UC1), colour(70, 90, CV_8UC3);
  cv::randu(gray, 0, 256);
  cv::randu(colour, 0, 256);
  const auto file = dir.path() / "gray.tif";
  REQUIRE(cv::imwrite(file.string(), gray));
  const auto header = data::checked_image_header(file);
  CHECK(header.format == data::image_format::tiff);
  CHECK(header.size == gray.size());
  CHECK(header.bits == 8);
  CHECK(header.channels == 1);
  CHECK_FALSE(header.pixel_size_mm);
  CHECK(cv::norm(data::decode_grayscale(file).pixels, gray, cv::NORM_INF) == 0);  // as stored

  const auto rgb = dir.path() / "colour.tiff";
  REQUIRE(cv::imwrite(rgb.string(), colour));
  CHECK(data::checked_image_header(rgb).channels == 3);
  const cv::Mat decoded = data::decode_grayscale(rgb).pixels;
  REQUIRE(decoded.size() == colour.size());
  for (int y = 0; y < colour.rows; ++y)
    for (int x = 0; x < colour.cols; ++x) {
      const auto c = colour.at<cv::Vec3b>(y, x);  // BGR
      const double luma = 0.114 * c[0] + 0.587 * c[1] + 0.299 * c[2];
      INFO("pixel " << x << "," << y);
      REQUIRE(std::abs(decoded.at<std::uint8_t>(y, x) - luma) <= 1.05);
    }
}

TEST_CASE("formats: a 16-bit TIFF goes through the percentile window", "[formats]") {
  temporary_directory dir;
  const auto file = dir.path() / "ramp.tif";
  REQUIRE(cv::imwrite(file.string(), ramp16()));
  const auto header = data::checked_image_header(file);
  CHECK(header.bits == 16);
  CHECK(header.size == cv::Size(100, 10));
  check_ramp(data::decode_grayscale(file).pixels);
  // RGB with equal channels: the luma is the value itself.
  cv::Mat colour;
  cv::merge(std::vector<cv::Mat>{ramp16(), ramp16(), ramp16()}, colour);
  const auto rgb = dir.path() / "ramp_rgb.tif";
  REQUIRE(cv::imwrite(rgb.string(), colour));
  check_ramp(data::decode_grayscale(rgb).pixels);
}

TEST_CASE("formats: 16-bit PNG follows the same window on both decoder paths", "[formats]") {
  temporary_directory dir;
  const auto file = dir.path() / "ramp.png";
  REQUIRE(cv::imwrite(file.string(), ramp16()));
  check_ramp(data::decode_grayscale(file).pixels);  // libdeflate when present
  cv::Mat colour;
  cv::merge(std::vector<cv::Mat>{ramp16(), ramp16(), ramp16()}, colour);
  const auto rgb = dir.path() / "ramp_rgb.png";
  REQUIRE(cv::imwrite(rgb.string(), colour));
  check_ramp(data::decode_grayscale(rgb).pixels);  // OpenCV
  // A constant image: hi == lo, so every pixel is at or below lo: 0.
  const auto flat = dir.path() / "flat.png";
  REQUIRE(cv::imwrite(flat.string(), cv::Mat(8, 8, CV_16UC1, cv::Scalar(3000))));
  CHECK(cv::countNonZero(data::decode_grayscale(flat).pixels) == 0);
}

TEST_CASE("formats: a big-endian TIFF header gives its size and its pixels decode", "[formats]") {
  temporary_directory dir;
  const auto file = dir.path() / "big_endian.tif";
  write_bytes(file, big_endian_tiff16(ramp16()));
  const auto header = data::checked_image_header(file);
  CHECK(header.size == cv::Size(100, 10));
  CHECK(header.bits == 16);
  CHECK(header.channels == 1);
  check_ramp(data::decode_grayscale(file).pixels);
  CHECK(data::decode_bytes_bound(file) > fs::file_size(file) + 1000);
}

TEST_CASE("formats: a TIFF directory after 64 KiB of pixels is found", "[formats]") {
  temporary_directory dir;
  cv::Mat large(300, 400, CV_16UC1);
  cv::randu(large, 0, 65535);
  const auto file = dir.path() / "large.tif";
  REQUIRE(cv::imwrite(file.string(), large, {cv::IMWRITE_TIFF_COMPRESSION, 1}));
  REQUIRE(fs::file_size(file) > (1u << 16));
  CHECK(data::checked_image_header(file).size == cv::Size(400, 300));
  CHECK(data::read_image_header_size(file) == cv::Size(400, 300));  // libtiff wrote the directory last: read whole
}

TEST_CASE("formats: truncated or damaged TIFF is an error naming the file", "[formats]") {
  temporary_directory dir;
  // Directory first (hand-made), pixel data cut: the header passes, decoding refuses.
  auto bytes = big_endian_tiff16(ramp16());
  bytes.resize(bytes.size() - 500);
  const auto cut = dir.path() / "cut.tif";
  write_bytes(cut, bytes);
  CHECK(data::checked_image_header(cut).size == cv::Size(100, 10));
  REQUIRE_THROWS_WITH(data::decode_grayscale(cut), Contains(cut.string() + ": image file is truncated (TIFF strip data incomplete)"));
  // libtiff's layout (directory last), cut: refused from the header.
  cv::Mat image(64, 64, CV_8UC1, cv::Scalar(7));
  std::vector<std::uint8_t> encoded;
  REQUIRE(cv::imencode(".tif", image, encoded));
  encoded.resize(encoded.size() * 2 / 3);
  const auto cut_end = dir.path() / "cut_end.tif";
  write_bytes(cut_end, encoded);
  REQUIRE_THROWS_WITH(data::checked_image_header(cut_end),
                      Contains(cut_end.string() + ": image file is truncated or damaged (TIFF directory missing)"));
  REQUIRE_THROWS_WITH(data::decode_grayscale(cut_end), Contains(cut_end.string() + ": cannot decode image: image file is truncated"));
  // A directory that points past the end, and float samples.
  const auto garbled = dir.path() / "garbled.tif";
  write_bytes(garbled, {'I', 'I', 42, 0, 0xFF, 0xFF, 0, 0, 1, 2, 3});
  REQUIRE_THROWS_WITH(data::checked_image_header(garbled), Contains(garbled.string() + ": image file is truncated or damaged"));
  const auto floats = dir.path() / "float.tif";
  REQUIRE(cv::imwrite(floats.string(), cv::Mat(8, 8, CV_32FC1, cv::Scalar(0.5))));
  REQUIRE_THROWS_WITH(data::checked_image_header(floats), Contains(floats.string() + ": floating-point TIFF samples are not taken"));
}

TEST_CASE("formats: readers list .tif and .tiff files and name what they take", "[formats]") {
  const auto taken = data::taken_image_extensions();
  for (const std::string ext : {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}) {
    INFO(ext);
    CHECK(std::find(taken.begin(), taken.end(), ext) != taken.end());
    CHECK(data::untaken_extension_problem(ext, ext).empty());
  }
  CHECK_THAT(data::taken_image_formats(), Contains("PNG, JPEG, BMP") && Contains("TIFF (.png, .jpg, .jpeg, .bmp, .tif, .tiff"));
  CHECK_THAT(data::untaken_extension_problem(".webp", ".webp"), Contains("'.webp' files are not read: the reader takes PNG, JPEG, BMP"));
  temporary_directory dir;
  REQUIRE(cv::imwrite((dir.path() / "a.tif").string(), cv::Mat(4, 4, CV_8UC1, cv::Scalar(1))));
  REQUIRE(cv::imwrite((dir.path() / "b.TIFF").string(), cv::Mat(4, 4, CV_8UC1, cv::Scalar(1))));
  const auto images = data::detail::list_images(dir.path());
  CHECK(images.size() == 2);
}

}  // namespace test_image_formats
