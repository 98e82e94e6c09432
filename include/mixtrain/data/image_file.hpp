#pragma once
// Reading cephalograms: dimensions from the file header (to choose a reduced
// decode before decoding), truncation checks, and decoding with a clear error
// that names the file.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <mixtrain/data/annotation.hpp>

namespace mixtrain::data {

inline std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw data_error(path, "cannot open image file");
  const auto size = static_cast<std::size_t>(in.tellg());
  std::vector<std::uint8_t> bytes(size);
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (!in) throw data_error(path, "cannot read image file");
  return bytes;
}

// Width and height from a PNG, BMP or JPEG header; nullopt for other formats.
inline std::optional<cv::Size> image_size_from_header(const std::vector<std::uint8_t>& b) {
  auto be32 = [&](std::size_t i) { return (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]; };
  auto le32 = [&](std::size_t i) {
    return static_cast<std::int32_t>(b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (static_cast<std::uint32_t>(b[i + 3]) << 24));
  };
  if (b.size() >= 24 && b[0] == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') return cv::Size(be32(16), be32(20));
  if (b.size() >= 26 && b[0] == 'B' && b[1] == 'M') return cv::Size(std::abs(le32(18)), std::abs(le32(22)));
  if (b.size() >= 4 && b[0] == 0xFF && b[1] == 0xD8) {
    std::size_t i = 2;
    while (i + 9 < b.size()) {
      if (b[i] != 0xFF) return std::nullopt;
      const int marker = b[i + 1];
      const std::size_t length = (b[i + 2] << 8) | b[i + 3];
      const bool start_of_frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
      if (start_of_frame) return cv::Size((b[i + 7] << 8) | b[i + 8], (b[i + 5] << 8) | b[i + 6]);
      i += 2 + length;
    }
  }
  return std::nullopt;
}

// Reads only the first 64 KiB: enough for any PNG, BMP or JPEG header.
inline std::optional<cv::Size> read_image_header_size(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> head(1 << 16);
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  return image_size_from_header(head);
}

// A JPEG must end with the end-of-image marker; libjpeg would otherwise return
// a silently grey-filled picture for a truncated file.
inline bool looks_truncated(const std::vector<std::uint8_t>& b) {
  if (b.size() >= 2 && b[0] == 0xFF && b[1] == 0xD8) {
    for (std::size_t i = b.size(); i >= 2 && i + 64 >= b.size(); --i)
      if (b[i - 2] == 0xFF && b[i - 1] == 0xD9) return false;
    return true;
  }
  return false;
}

struct decoded_image {
  cv::Mat pixels;               // 8-bit, one channel
  double reduction = 1;         // decoded at 1/reduction of the original
  cv::Size original_size;
};

// The largest power-of-two reduction (1, 2, 4, 8) that keeps the decoded image
// at least `needed_scale` times the original size.
inline int reduction_for(double needed_scale) {
  int factor = 1;
  while (factor < 8 && needed_scale * factor * 2 <= 1.0) factor *= 2;
  return factor;
}

// Decodes grayscale, at reduced resolution when `needed_scale` (input pixels
// per original pixel) allows it.
inline decoded_image decode_grayscale(const std::filesystem::path& path, double needed_scale_or_zero = 0) {
  const auto bytes = read_file_bytes(path);
  if (bytes.empty()) throw data_error(path, "image file is empty");
  const auto header_size = image_size_from_header(bytes);
  if (looks_truncated(bytes)) throw data_error(path, "image file is truncated (JPEG end marker missing)");
  int flag = cv::IMREAD_GRAYSCALE;
  int factor = 1;
  if (header_size && needed_scale_or_zero > 0) {
    factor = reduction_for(needed_scale_or_zero);
    flag = factor == 8 ? cv::IMREAD_REDUCED_GRAYSCALE_8
         : factor == 4 ? cv::IMREAD_REDUCED_GRAYSCALE_4
         : factor == 2 ? cv::IMREAD_REDUCED_GRAYSCALE_2
                       : cv::IMREAD_GRAYSCALE;
  }
  cv::Mat pixels;
  try {
    pixels = cv::imdecode(cv::_InputArray(bytes.data(), static_cast<int>(bytes.size())), flag);
  } catch (const cv::Exception& e) {
    throw data_error(path, std::string("cannot decode image: ") + e.what());
  }
  if (pixels.empty()) throw data_error(path, "cannot decode image: the file is corrupt, truncated or not an image");
  if (pixels.depth() != CV_8U) pixels.convertTo(pixels, CV_8U, 1.0 / 257.0);
  decoded_image out;
  out.original_size = header_size.value_or(pixels.size());
  // The decoder rounds reduced sizes up; the exact factor keeps the mapping honest.
  out.reduction = factor == 1 ? 1.0 : static_cast<double>(out.original_size.width) / pixels.cols;
  if (factor == 1 && pixels.size() != out.original_size) out.original_size = pixels.size();
  out.pixels = std::move(pixels);
  return out;
}

}  // namespace mixtrain::data
