#pragma once
// Definitions of the functions declared in <mixtrain/data/png_decode.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/data/png_decode.hpp>

namespace mixtrain::data {
namespace detail {

MIXTRAIN_COLD std::uint32_t read_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

MIXTRAIN_COLD bool unfilter_row_gray8(int filter, std::uint8_t* row, const std::uint8_t* previous, std::size_t length) {
  switch (filter) {
    case 0:
      return true;
    case 1: {
      std::uint8_t left = 0;
      for (std::size_t x = 0; x < length; ++x) left = row[x] = static_cast<std::uint8_t>(row[x] + left);
      return true;
    }
    case 2:
      if (previous)
        for (std::size_t x = 0; x < length; ++x) row[x] = static_cast<std::uint8_t>(row[x] + previous[x]);
      return true;
    case 3: {
      int left = 0;
      for (std::size_t x = 0; x < length; ++x) {
        const int up = previous ? previous[x] : 0;
        left = row[x] = static_cast<std::uint8_t>(row[x] + ((left + up) >> 1));
      }
      return true;
    }
    case 4: {
      if (!previous) {  // Paeth without a row above is Sub
        std::uint8_t left = 0;
        for (std::size_t x = 0; x < length; ++x) left = row[x] = static_cast<std::uint8_t>(row[x] + left);
        return true;
      }
      int left = 0, corner = 0;
      for (std::size_t x = 0; x < length; ++x) {
        const int up = previous[x];
        const int pa = std::abs(up - corner), pb = std::abs(left - corner), pc = std::abs(left + up - 2 * corner);
        const int predictor = pa <= pb && pa <= pc ? left : pb <= pc ? up : corner;
        left = row[x] = static_cast<std::uint8_t>(row[x] + predictor);
        corner = up;
      }
      return true;
    }
    default:
      return false;
  }
}

MIXTRAIN_COLD bool unfilter_row(int filter, std::uint8_t* row, const std::uint8_t* previous, std::size_t length, std::size_t bpp) {
  switch (filter) {
    case 0:
      return true;
    case 1:
      for (std::size_t x = bpp; x < length; ++x) row[x] = static_cast<std::uint8_t>(row[x] + row[x - bpp]);
      return true;
    case 2:
      if (previous)
        for (std::size_t x = 0; x < length; ++x) row[x] = static_cast<std::uint8_t>(row[x] + previous[x]);
      return true;
    case 3:
      for (std::size_t x = 0; x < length; ++x) {
        const int left = x >= bpp ? row[x - bpp] : 0;
        const int up = previous ? previous[x] : 0;
        row[x] = static_cast<std::uint8_t>(row[x] + ((left + up) >> 1));
      }
      return true;
    case 4:
      for (std::size_t x = 0; x < length; ++x) {
        const int left = x >= bpp ? row[x - bpp] : 0;
        const int up = previous ? previous[x] : 0;
        const int corner = previous && x >= bpp ? previous[x - bpp] : 0;
        const int p = left + up - corner;
        const int pa = std::abs(p - left), pb = std::abs(p - up), pc = std::abs(p - corner);
        const int predictor = pa <= pb && pa <= pc ? left : pb <= pc ? up : corner;
        row[x] = static_cast<std::uint8_t>(row[x] + predictor);
      }
      return true;
    default:
      return false;
  }
}

MIXTRAIN_COLD png_status decode_png_fast(std::vector<std::uint8_t>& b, cv::Mat& out) {
  const auto& api = deflate_api::get();
  if (!api.available() || b.size() < 8 + 25) return png_status::unsupported;
  if (read_be32(&b[8]) != 13 || std::memcmp(&b[12], "IHDR", 4) != 0) return png_status::corrupt;
  const std::uint32_t width = read_be32(&b[16]), height = read_be32(&b[20]);
  const int depth = b[24], colour = b[25], interlace = b[28];
  // Gray of 8 or 16 bits. libpng's colour-to-gray (gamma-aware) is left to OpenCV.
  if (colour != 0 || (depth != 8 && depth != 16) || interlace != 0) return png_status::unsupported;
  if (width == 0 || height == 0 || width > (1u << 16) || height > (1u << 16)) return png_status::unsupported;
  const std::size_t bpp = static_cast<std::size_t>(depth / 8);
  const std::size_t stride = bpp * width + 1;

  // Find the IDAT chunks, checking every length before anything moves.
  std::vector<std::pair<std::size_t, std::size_t>> idat;  // offset, length
  for (std::size_t i = 8; i + 12 <= b.size();) {
    const std::uint32_t length = read_be32(&b[i]);
    if (length > b.size() - i - 12) return png_status::corrupt;
    if (std::memcmp(&b[i + 4], "IDAT", 4) == 0) idat.emplace_back(i + 8, length);
    else if (std::memcmp(&b[i + 4], "IEND", 4) == 0) break;
    i += 12 + static_cast<std::size_t>(length);
  }
  if (idat.empty()) return png_status::corrupt;
  // Join the zlib stream in place: each chunk's data moves down over the
  // previous chunk's CRC and the next one's header.
  std::size_t stream_size = 0;
  const std::size_t stream_start = idat.front().first;
  for (const auto& [offset, length] : idat) {
    if (offset != stream_start + stream_size) std::memmove(&b[stream_start + stream_size], &b[offset], length);
    stream_size += length;
  }

  // Deflate expands at most 1032:1: a stream too short for the rows is
  // corrupt, found before allocating them (a small file claiming 65536^2).
  if (stride * height / 1032 > stream_size + 1) return png_status::corrupt;
  cv::Mat rows(static_cast<int>(height), static_cast<int>(stride), CV_8UC1);
  std::size_t produced = 0;
  const int result = api.zlib_decompress(api.thread_decompressor(), &b[stream_start], stream_size, rows.data,
                                         stride * height, &produced);
  if (result != 0 || produced != stride * height) return png_status::corrupt;

  const std::size_t length = stride - 1;
  const std::uint8_t* previous = nullptr;
  // 16 bits: every row is unfiltered first (the next row needs the 16-bit
  // one above), counting values; then narrowed in place through the window.
  std::vector<std::uint64_t> counts(bpp == 2 ? 65536 : 0, 0);
  for (std::uint32_t y = 0; y < height; ++y) {
    std::uint8_t* row = rows.ptr<std::uint8_t>(static_cast<int>(y));
    std::uint8_t* pixels = row + 1;
    const bool ok = bpp == 1 ? unfilter_row_gray8(row[0], pixels, previous, length)
                             : unfilter_row(row[0], pixels, previous, length, bpp);
    if (!ok) return png_status::corrupt;
    if (bpp == 2)
      for (std::uint32_t x = 0; x < width; ++x) ++counts[(std::size_t{pixels[2 * x]} << 8) | pixels[2 * x + 1]];
    previous = pixels;
  }
  if (bpp == 2) {
    const auto table = window_table16(window_from_histogram(counts, 0));
    for (std::uint32_t y = 0; y < height; ++y) {  // big-endian samples; row y shrinks onto its own first half
      std::uint8_t* pixels = rows.ptr<std::uint8_t>(static_cast<int>(y)) + 1;
      for (std::uint32_t x = 0; x < width; ++x) pixels[x] = table[(std::size_t{pixels[2 * x]} << 8) | pixels[2 * x + 1]];
    }
  }
  out = rows(cv::Rect(1, 0, static_cast<int>(width), static_cast<int>(height)));
  return png_status::decoded;
}

}  // namespace detail
}  // namespace mixtrain::data
