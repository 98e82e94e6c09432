// PNG decoding: the libdeflate fast path for grey PNGs (against OpenCV and a
// hand-made file), and colour, RGBA and 16-bit files (through OpenCV) against
// the luma formula computed here from the pixels written; 16-bit files then
// through the percentile window (image_window.hpp), recomputed here by sorting.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <mixtrain/data/image_file.hpp>

#include "../support/data_files.hpp"
#include "../support/temporary_directory.hpp"

namespace fs = std::filesystem;
using namespace mixtrain;
using mixtrain::testing::temporary_directory;

namespace test_png {
namespace {

// A grayscale PNG written by hand: every row filter type in turn (OpenCV's
// encoder uses only some), stored (uncompressed) deflate blocks, and the
// image data split over several IDAT chunks.
std::vector<std::uint8_t> handmade_png(const cv::Mat& image) {  // CV_8UC1 or CV_16UC1
  const bool deep = image.depth() == CV_16U;
  const std::size_t bpp = deep ? 2 : 1, width = static_cast<std::size_t>(image.cols) * bpp;
  std::vector<std::uint8_t> raw, previous(width, 0), current(width);
  for (int y = 0; y < image.rows; ++y) {
    for (int x = 0; x < image.cols; ++x) {
      if (deep) {
        const auto v = image.at<std::uint16_t>(y, x);
        current[2 * static_cast<std::size_t>(x)] = static_cast<std::uint8_t>(v >> 8);
        current[2 * static_cast<std::size_t>(x) + 1] = static_cast<std::uint8_t>(v & 0xFF);
      } else {
        current[static_cast<std::size_t>(x)] = image.at<std::uint8_t>(y, x);
      }
    }
    const int filter = y % 5;
    raw.push_back(static_cast<std::uint8_t>(filter));
    for (std::size_t x = 0; x < width; ++x) {
      const int a = x >= bpp ? current[x - bpp] : 0, b = y > 0 ? previous[x] : 0, c = x >= bpp && y > 0 ? previous[x - bpp] : 0;
      const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
      const int predictor = filter == 0 ? 0
                            : filter == 1 ? a
                            : filter == 2 ? b
                            : filter == 3 ? (a + b) / 2
                                          : (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      raw.push_back(static_cast<std::uint8_t>(current[x] - predictor));
    }
    previous = current;
  }
  std::vector<std::uint8_t> z = {0x78, 0x01};
  for (std::size_t i = 0; i < raw.size(); i += 65535) {
    const std::size_t n = std::min<std::size_t>(65535, raw.size() - i);
    z.push_back(i + n == raw.size() ? 1 : 0);
    z.push_back(static_cast<std::uint8_t>(n & 0xFF));
    z.push_back(static_cast<std::uint8_t>(n >> 8));
    z.push_back(static_cast<std::uint8_t>(~n & 0xFF));
    z.push_back(static_cast<std::uint8_t>((~n >> 8) & 0xFF));
    z.insert(z.end(), raw.begin() + static_cast<std::ptrdiff_t>(i), raw.begin() + static_cast<std::ptrdiff_t>(i + n));
  }
  std::uint32_t s1 = 1, s2 = 0;
  for (const auto v : raw) {
    s1 = (s1 + v) % 65521;
    s2 = (s2 + s1) % 65521;
  }
  for (int k = 3; k >= 0; --k) z.push_back(static_cast<std::uint8_t>((((s2 << 16) | s1) >> (8 * k)) & 0xFF));

  std::vector<std::uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  auto chunk = [&](const char* type, const std::vector<std::uint8_t>& data) {
    for (int k = 3; k >= 0; --k) png.push_back(static_cast<std::uint8_t>((data.size() >> (8 * k)) & 0xFF));
    const std::size_t start = png.size();
    png.insert(png.end(), type, type + 4);
    png.insert(png.end(), data.begin(), data.end());
    std::uint32_t crc = 0xFFFFFFFFu;
    for (std::size_t i = start; i < png.size(); ++i) {
      crc ^= png[i];
      for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    crc ^= 0xFFFFFFFFu;
    for (int k = 3; k >= 0; --k) png.push_back(static_cast<std::uint8_t>((crc >> (8 * k)) & 0xFF));
  };
  std::vector<std::uint8_t> header(13, 0);
  for (int k = 0; k < 4; ++k) {
    header[static_cast<std::size_t>(k)] = static_cast<std::uint8_t>((image.cols >> (8 * (3 - k))) & 0xFF);
    header[static_cast<std::size_t>(4 + k)] = static_cast<std::uint8_t>((image.rows >> (8 * (3 - k))) & 0xFF);
  }
  header[8] = deep ? 16 : 8;  // bit depth; colour type 0 (gray), no interlace
  chunk("IHDR", header);
  for (std::size_t i = 0; i < z.size(); i += 1000)
    chunk("IDAT", std::vector<std::uint8_t>(z.begin() + static_cast<std::ptrdiff_t>(i),
                                            z.begin() + static_cast<std::ptrdiff_t>(std::min(z.size(), i + 1000))));
  chunk("IEND", {});
  return png;
}

// ITU-R BT.601 luma of 8-bit or 16-bit BGR(A) pixels, in 8-bit grey levels:
// the grey every decoder path must give a colour file (alpha is ignored).
cv::Mat luma_reference(const cv::Mat& bgr) {
  cv::Mat out(bgr.size(), CV_64FC1);
  const double unit = bgr.depth() == CV_16U ? 257.0 : 1.0;
  for (int y = 0; y < bgr.rows; ++y)
    for (int x = 0; x < bgr.cols; ++x) {
      double c[4];
      for (int k = 0; k < bgr.channels(); ++k)
        c[k] = bgr.depth() == CV_16U ? bgr.ptr<std::uint16_t>(y)[x * bgr.channels() + k] : bgr.ptr<std::uint8_t>(y)[x * bgr.channels() + k];
      out.at<double>(y, x) = (0.114 * c[0] + 0.587 * c[1] + 0.299 * c[2]) / unit;
    }
  return out;
}

// The percentile window of image_window.hpp, by sorting: drop the
// floor(N / 200) lowest and highest, map [lo, hi] linearly onto 0..255.
cv::Mat percentile_reference(const cv::Mat& values) {
  cv::Mat as_double;
  values.convertTo(as_double, CV_64F);
  std::vector<double> sorted(as_double.begin<double>(), as_double.end<double>());
  std::sort(sorted.begin(), sorted.end());
  const std::size_t k = sorted.size() / 200;
  const double lo = sorted[k], hi = sorted[sorted.size() - 1 - k];
  cv::Mat out(values.size(), CV_64FC1);
  for (int y = 0; y < values.rows; ++y)
    for (int x = 0; x < values.cols; ++x) {
      const double v = as_double.at<double>(y, x);
      out.at<double>(y, x) = v <= lo ? 0 : v >= hi ? 255 : 255 * (v - lo) / (hi - lo);
    }
  return out;
}

cv::Mat rounded(const cv::Mat& reference) {
  cv::Mat out(reference.size(), CV_8UC1);
  for (int y = 0; y < reference.rows; ++y)
    for (int x = 0; x < reference.cols; ++x) out.at<std::uint8_t>(y, x) = static_cast<std::uint8_t>(std::floor(reference.at<double>(y, x) + 0.5));
  return out;
}

using mixtrain::testing::write_bytes;

}  // namespace

TEST_CASE("png: colour, RGBA and 16-bit colour files decode to the BT.601 luma of their pixels (16 bits: windowed)") {
  temporary_directory dir;
  cv::RNG rng(17);
  // Channels that differ everywhere (a swapped or dropped channel moves the
  // grey by tens of levels), and an alpha that varies (it must not darken).
  cv::Mat blue(61, 83, CV_8UC1), green(61, 83, CV_8UC1), red(61, 83, CV_8UC1), alpha(61, 83, CV_8UC1);
  rng.fill(blue, cv::RNG::UNIFORM, 0, 80);
  rng.fill(green, cv::RNG::UNIFORM, 60, 200);
  rng.fill(red, cv::RNG::UNIFORM, 150, 256);
  rng.fill(alpha, cv::RNG::UNIFORM, 0, 256);
  cv::Mat bgr, bgra, bgr16, bgra16;
  cv::merge(std::vector<cv::Mat>{blue, green, red}, bgr);
  cv::merge(std::vector<cv::Mat>{blue, green, red, alpha}, bgra);
  bgr.convertTo(bgr16, CV_16U, 257.0);
  cv::Mat noise(bgr16.size(), CV_16UC3);
  rng.fill(noise, cv::RNG::UNIFORM, 0, 200);  // low bits that 8-bit decoding must not misread
  bgr16 += noise;
  bgra.convertTo(bgra16, CV_16U, 257.0);
  struct named {
    const char* name;
    cv::Mat pixels;
    const char* extension;
  };
  for (const auto& [name, pixels, extension] : {named{"RGB", bgr, ".png"}, named{"RGBA", bgra, ".png"},
                                                named{"16-bit RGB", bgr16, ".png"}, named{"16-bit RGBA", bgra16, ".png"},
                                                named{"BMP RGB", bgr, ".bmp"}, named{"BMP RGBA", bgra, ".bmp"}}) {
    std::vector<std::uint8_t> bytes;
    REQUIRE(cv::imencode(extension, pixels, bytes));
    const auto file = dir.path() / (std::string(name) + extension);
    write_bytes(file, bytes);
    const auto decoded = data::decode_grayscale(file).pixels;
    INFO(name << extension);
    REQUIRE(decoded.type() == CV_8UC1);
    REQUIRE(decoded.size() == pixels.size());
    cv::Mat difference;
    decoded.convertTo(difference, CV_64F);
    if (pixels.depth() == CV_16U) difference -= percentile_reference(luma_reference(pixels) * 257.0);
    else difference -= luma_reference(pixels);
    double lowest = 0, highest = 0;
    cv::Point at_lowest, at_highest;
    cv::minMaxLoc(difference, &lowest, &highest, &at_lowest, &at_highest);
    INFO("decoded - luma in [" << lowest << ", " << highest << "] (at " << at_lowest << " and " << at_highest << ")");
    // libpng truncates its fixed-point sum and OpenCV's BMP path rounds: within
    // a grey level either way, never the tens of levels a wrong weighting gives.
    CHECK(lowest >= -1.05);
    CHECK(highest <= 1.05);
  }
}

TEST_CASE("png: the libdeflate decoder gives OpenCV's pixels for grey PNGs and defers colour ones") {
  // Debian's libtiff depends on libdeflate, so it is always there: its absence
  // is a broken installation, and this fast path would go untested.
  INFO("libdeflate.so.0 must be loadable: install libdeflate0");
  REQUIRE(data::detail::deflate_api::get().available());
  temporary_directory dir;
  cv::RNG rng(5);
  cv::Mat smooth(97, 131, CV_8UC1);
  cv::randu(smooth, 0, 255);
  cv::GaussianBlur(smooth, smooth, cv::Size(0, 0), 3);  // gives the encoder's filters (sub, up, avg, paeth) work
  cv::Mat noisy(97, 131, CV_8UC1);
  cv::randu(noisy, 0, 255);
  cv::Mat colour, rgba, deep, deep_colour;
  cv::merge(std::vector<cv::Mat>{smooth, noisy, 255 - smooth}, colour);
  cv::cvtColor(colour, rgba, cv::COLOR_BGR2BGRA);
  smooth.convertTo(deep, CV_16U, 257.0, 3);
  colour.convertTo(deep_colour, CV_16U, 250.0);
  int n = 0;
  for (const cv::Mat& image : {smooth, noisy, colour, rgba, deep, deep_colour}) {
    for (int level : {1, 9}) {
      std::vector<std::uint8_t> bytes;
      cv::imencode(".png", image, bytes, {cv::IMWRITE_PNG_COMPRESSION, level});
      cv::Mat fast;
      auto consumed = bytes;  // the decoder joins the compressed data in place
      const auto status = data::detail::decode_png_fast(consumed, fast);
      INFO("image " << n << " (" << image.channels() << " channels, depth " << image.depth() << "), level " << level);
      if (image.channels() != 1) {  // colour goes to OpenCV: checked against the luma formula below
        CHECK(status == data::detail::png_status::unsupported);
        continue;
      }
      REQUIRE(status == data::detail::png_status::decoded);
      cv::Mat reference = cv::imdecode(bytes, cv::IMREAD_GRAYSCALE | cv::IMREAD_ANYDEPTH);
      if (reference.depth() == CV_16U) reference = rounded(percentile_reference(reference));  // 16 bits: windowed
      REQUIRE(fast.size() == reference.size());
      CHECK(cv::norm(fast, reference, cv::NORM_INF) == 0);
    }
    ++n;
  }
  SECTION("every row filter, stored blocks and split IDAT chunks, 8 and 16 bits") {
    for (const cv::Mat& image : {noisy, smooth, deep}) {
      auto bytes = handmade_png(image);
      const cv::Mat reference = cv::imdecode(bytes, cv::IMREAD_GRAYSCALE);
      cv::Mat expected;
      if (image.depth() == CV_16U) {  // the high byte
        expected.create(image.size(), CV_8UC1);
        for (int y = 0; y < image.rows; ++y)
          for (int x = 0; x < image.cols; ++x)
            expected.at<std::uint8_t>(y, x) = static_cast<std::uint8_t>(image.at<std::uint16_t>(y, x) >> 8);
      } else {
        expected = image;
      }
      REQUIRE(reference.size() == image.size());
      CHECK(cv::norm(reference, expected, cv::NORM_INF) == 0);  // the hand-made file is a valid PNG
      cv::Mat fast;
      REQUIRE(data::detail::decode_png_fast(bytes, fast) == data::detail::png_status::decoded);
      const cv::Mat windowed = image.depth() == CV_16U ? rounded(percentile_reference(image)) : image;
      CHECK(cv::norm(fast, windowed, cv::NORM_INF) == 0);
    }
  }
  SECTION("a corrupt stream is an error naming the file") {
    std::vector<std::uint8_t> bytes;
    cv::imencode(".png", noisy, bytes);
    // Damage the compressed data (the first IDAT starts after signature 8 + IHDR 25 bytes).
    for (std::size_t i = 8 + 25 + 8 + 40; i < 8 + 25 + 8 + 80; ++i) bytes[i] ^= 0x5A;
    const auto file = dir.path() / "damaged.png";
    std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    REQUIRE_THROWS_WITH(data::decode_grayscale(file), Catch::Contains(file.string()) && Catch::Contains("corrupt"));
  }
}

}  // namespace test_png
