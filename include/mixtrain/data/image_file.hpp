#pragma once
// Reading cephalograms: dimensions from the file header (to choose a reduced
// decode before decoding), truncation checks, and decoding with a clear error
// that names the file.
//
// PNG. Grayscale PNGs of 8 or 16 bits, not interlaced, are decoded here
// with libdeflate (2.5-4x faster than libpng + zlib in OpenCV,
// same pixels); other PNGs, or a system without libdeflate.so.0 (found at run
// time, so the build needs nothing), go through OpenCV.
//
// Reduced decoding. Only JPEG decodes faster at reduced resolution: libjpeg
// scales in the DCT domain, so output pixel k covers original pixels
// [d*k, d*k + d) exactly, and the output is ceil(W / d) wide. OpenCV's
// IMREAD_REDUCED_* on PNG and BMP decodes at full size and then resizes to
// floor(W / d) with bilinear sampling, which costs time and aliases; those
// formats are therefore decoded at full size here and the caller scales them
// down once, with area averaging, to what it needs. Either way the decoded
// image comes with its exact per-axis mapping back to original pixel centres.
// (About 470 lines on purpose: the per-format header readers and reduced decoders
// share the truncation checks and error wording that make "names the file" hold.)
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <memory>
#include <vector>

#include <dlfcn.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <mixtrain/data/annotation.hpp>
#include <mixtrain/data/geometry.hpp>

namespace mixtrain::data {

inline std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw data_error(path, "cannot open image file");
  const auto end = in.tellg();
  if (end < 0) throw data_error(path, "cannot read image file");
  const auto size = static_cast<std::size_t>(end);
  std::vector<std::uint8_t> bytes(size);
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (!in) throw data_error(path, "cannot read image file");
  return bytes;
}

enum class image_format { unknown, png, jpeg, bmp };

inline image_format format_of(const std::vector<std::uint8_t>& b) {
  if (b.size() >= 8 && b[0] == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') return image_format::png;
  if (b.size() >= 2 && b[0] == 0xFF && b[1] == 0xD8) return image_format::jpeg;
  if (b.size() >= 2 && b[0] == 'B' && b[1] == 'M') return image_format::bmp;
  return image_format::unknown;
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

// What the header says about the pixels: enough to bound decoding memory.
struct image_header {
  image_format format = image_format::unknown;
  cv::Size size;
  int channels = 0;         // 0 when unknown
  int bits = 8;             // per channel
  bool interlaced = false;  // PNG Adam7, or a progressive JPEG
};

inline image_header parse_image_header(const std::vector<std::uint8_t>& b) {
  image_header h;
  h.format = format_of(b);
  if (const auto size = image_size_from_header(b)) h.size = *size;
  if (h.format == image_format::png && b.size() >= 29) {
    const int colour = b[25];
    h.bits = b[24];
    h.channels = colour == 0 ? 1 : colour == 2 ? 3 : colour == 3 ? 1 : colour == 4 ? 2 : colour == 6 ? 4 : 0;
    h.interlaced = b[28] != 0;
  } else if (h.format == image_format::bmp && b.size() >= 30) {
    h.bits = 8;
    h.channels = std::max(1, (b[28] | (b[29] << 8)) / 8);
  } else if (h.format == image_format::jpeg) {
    std::size_t i = 2;
    while (i + 9 < b.size() && b[i] == 0xFF) {
      const int marker = b[i + 1];
      const bool start_of_frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
      if (start_of_frame) {
        h.channels = b[i + 9];
        h.interlaced = marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE;
        break;
      }
      i += 2 + static_cast<std::size_t>((b[i + 2] << 8) | b[i + 3]);
    }
  }
  return h;
}

// An upper bound of the bytes decode_grayscale (and a later halving of its
// output) holds at once for a file of `file_bytes` with this header, the
// file's own bytes included: the memory budget's per-sample transient term.
inline std::size_t decode_bytes_bound(const image_header& h, std::size_t file_bytes) {
  const auto w = static_cast<std::size_t>(std::max(h.size.width, 1));
  const auto rows = static_cast<std::size_t>(std::max(h.size.height, 1));
  const std::size_t gray = w * rows;
  const std::size_t slack = std::size_t{1} << 20;  // decoder state, row buffers
  const auto channels = static_cast<std::size_t>(h.channels > 0 ? h.channels : 4);
  const auto bytes_per_sample = static_cast<std::size_t>(h.bits > 8 ? 2 : 1);
  std::size_t decoding = file_bytes + gray;
  switch (h.format) {
    case image_format::png:  // file (IDAT data joined in place) + inflated rows; OpenCV's path: + output
      decoding = file_bytes + (w * channels * bytes_per_sample + 1) * rows + gray;
      break;
    case image_format::jpeg:  // a progressive JPEG keeps every DCT coefficient (2 bytes) until the end
      decoding = file_bytes + gray + (h.interlaced ? 2 * channels * (w + 16) * (rows + 16) : 0);
      break;
    case image_format::bmp:
      decoding = file_bytes + gray;
      break;
    case image_format::unknown:
      decoding = file_bytes + (channels * bytes_per_sample + 1) * gray;
      break;
  }
  const std::size_t halving = gray + gray / 3 + 1;  // after decoding: the image and its halves
  return std::max(decoding, halving) + slack;
}

inline std::size_t decode_bytes_bound(const std::filesystem::path& path) {
  std::error_code ec;
  const auto file_bytes = std::filesystem::file_size(path, ec);
  if (ec) return 0;
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> head(1 << 16);
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  return decode_bytes_bound(parse_image_header(head), static_cast<std::size_t>(file_bytes));
}

// Why a file cannot hold a whole image, or empty when it looks complete.
// libjpeg would return a silently grey-filled picture for a truncated JPEG,
// and OpenCV's BMP reader fails with a message on stderr only; a PNG without
// its end chunk fails later with a less clear message.
inline std::string truncation_problem(const std::vector<std::uint8_t>& b) {
  const auto tail_has = [&](std::initializer_list<std::uint8_t> pattern, std::size_t window) {
    const std::size_t n = pattern.size();
    if (b.size() < n) return false;
    const std::size_t lowest = b.size() > window ? b.size() - window : 0;
    for (std::size_t i = b.size() - n + 1; i-- > lowest;)
      if (std::equal(pattern.begin(), pattern.end(), b.begin() + static_cast<std::ptrdiff_t>(i))) return true;
    return false;
  };
  switch (format_of(b)) {
    case image_format::jpeg:
      return tail_has({0xFF, 0xD9}, 64) ? "" : "image file is truncated (JPEG end marker missing)";
    case image_format::png:
      return tail_has({'I', 'E', 'N', 'D'}, 64) ? "" : "image file is truncated (PNG end chunk missing)";
    case image_format::bmp: {
      if (b.size() < 54) return "image file is truncated (BMP header incomplete)";
      auto le = [&](std::size_t i, int n) {
        std::uint32_t v = 0;
        for (int k = n - 1; k >= 0; --k) v = (v << 8) | b[i + static_cast<std::size_t>(k)];
        return v;
      };
      const std::uint32_t offset = le(10, 4), compression = le(30, 4), bits = le(28, 2);
      const auto width = static_cast<std::uint64_t>(std::abs(static_cast<std::int32_t>(le(18, 4))));
      const auto height = static_cast<std::uint64_t>(std::abs(static_cast<std::int32_t>(le(22, 4))));
      if (compression != 0 && compression != 3) return "";  // RLE: the length is not known up front
      const std::uint64_t row = ((bits * width + 31) / 32) * 4;
      return offset + row * height <= b.size() ? "" : "image file is truncated (BMP pixel data incomplete)";
    }
    case image_format::unknown:
      return "";
  }
  return "";
}

inline bool looks_truncated(const std::vector<std::uint8_t>& b) { return !truncation_problem(b).empty(); }

namespace detail {

// libdeflate, looked up at run time: the build needs no extra library, and
// without it PNGs go through OpenCV.
struct deflate_api {
  using alloc_fn = void* (*)();
  using free_fn = void (*)(void*);
  using zlib_fn = int (*)(void*, const void*, std::size_t, void*, std::size_t, std::size_t*);
  alloc_fn alloc = nullptr;
  free_fn release = nullptr;
  zlib_fn zlib_decompress = nullptr;

  [[nodiscard]] bool available() const { return alloc && release && zlib_decompress; }

  static const deflate_api& get() {
    static const deflate_api api = [] {
      deflate_api a;
      void* library = dlopen("libdeflate.so.0", RTLD_NOW | RTLD_LOCAL);
      if (!library) return a;
      a.alloc = reinterpret_cast<alloc_fn>(dlsym(library, "libdeflate_alloc_decompressor"));
      a.release = reinterpret_cast<free_fn>(dlsym(library, "libdeflate_free_decompressor"));
      a.zlib_decompress = reinterpret_cast<zlib_fn>(dlsym(library, "libdeflate_zlib_decompress"));
      if (!a.available()) a = {};
      return a;
    }();
    return api;
  }

  // One decompressor per thread (it holds ~30 KiB of tables).
  [[nodiscard]] void* thread_decompressor() const {
    thread_local std::unique_ptr<void, free_fn> decompressor(nullptr, release);
    if (!decompressor) decompressor.reset(alloc());
    return decompressor.get();
  }
};

inline std::uint32_t read_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

// Undoes one PNG row filter in place of `row` (`bpp` bytes per pixel). For one
// byte per pixel the left and upper-left neighbours stay in registers: a
// store-to-load round trip per byte would make the prefix sums of "Sub" and
// "Paeth" several times slower than inflating.
inline bool unfilter_row_gray8(int filter, std::uint8_t* row, const std::uint8_t* previous, std::size_t length) {
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

inline bool unfilter_row(int filter, std::uint8_t* row, const std::uint8_t* previous, std::size_t length, std::size_t bpp) {
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

enum class png_status { decoded, unsupported, corrupt };

// Decodes a non-interlaced grayscale PNG of 8 or 16 bits to 8-bit gray
// exactly as OpenCV's IMREAD_GRAYSCALE does (16 bits: the high byte). Two
// buffers only: the file's bytes, whose IDAT data are joined in place (so a
// decoded PNG leaves `b` altered; an unsupported one leaves it untouched),
// and the inflated rows, unfiltered in place; `out` is a view into them.
inline png_status decode_png_fast(std::vector<std::uint8_t>& b, cv::Mat& out) {
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

  cv::Mat rows(static_cast<int>(height), static_cast<int>(stride), CV_8UC1);
  std::size_t produced = 0;
  const int result = api.zlib_decompress(api.thread_decompressor(), &b[stream_start], stream_size, rows.data,
                                         stride * height, &produced);
  if (result != 0 || produced != stride * height) return png_status::corrupt;

  const std::size_t length = stride - 1;
  const std::uint8_t* previous = nullptr;
  auto narrow = [&](std::uint8_t* row) {  // 16 to 8 bits in place: the high byte comes first
    for (std::uint32_t x = 0; x < width; ++x) row[x] = row[2 * x];
  };
  for (std::uint32_t y = 0; y < height; ++y) {
    std::uint8_t* row = rows.ptr<std::uint8_t>(static_cast<int>(y));
    std::uint8_t* pixels = row + 1;
    const bool ok = bpp == 1 ? unfilter_row_gray8(row[0], pixels, previous, length)
                             : unfilter_row(row[0], pixels, previous, length, bpp);
    if (!ok) return png_status::corrupt;
    if (bpp == 2 && previous) narrow(const_cast<std::uint8_t*>(previous));  // the row below no longer needs it
    previous = pixels;
  }
  if (bpp == 2) narrow(const_cast<std::uint8_t*>(previous));
  out = rows(cv::Rect(1, 0, static_cast<int>(width), static_cast<int>(height)));
  return png_status::decoded;
}

}  // namespace detail

struct decoded_image {
  cv::Mat pixels;          // 8-bit, one channel
  double reduction = 1;    // the decoder's own reduction factor d (1, 2, 4 or 8)
  cv::Size original_size;
  // Original pixels per decoded pixel, per axis: x_orig + 0.5 = scale_x * (x + 0.5).
  double scale_x = 1;
  double scale_y = 1;

  [[nodiscard]] affine original_from_decoded() const {
    return {scale_x, 0, 0.5 * scale_x - 0.5, 0, scale_y, 0.5 * scale_y - 0.5};
  }
};

// The largest power-of-two reduction (1, 2, 4, 8) that keeps the decoded image
// at least `needed_scale` times the original size.
inline int reduction_for(double needed_scale) {
  int factor = 1;
  while (factor < 8 && needed_scale * factor * 2 <= 1.0) factor *= 2;
  return factor;
}

// Decodes grayscale; a JPEG at reduced resolution when `needed_scale` (input
// pixels per original pixel) is at most half, other formats at full size.
// EXIF orientation is ignored: pixels stay in the frame the header describes,
// which is the frame of the landmark coordinates.
inline decoded_image decode_grayscale(const std::filesystem::path& path, double needed_scale_or_zero = 0) {
  auto bytes = read_file_bytes(path);  // mutable: a PNG's compressed data are joined in place
  if (bytes.empty()) throw data_error(path, "image file is empty");
  const auto header_size = image_size_from_header(bytes);
  if (auto problem = truncation_problem(bytes); !problem.empty()) throw data_error(path, problem);
  const auto format = format_of(bytes);
  int factor = 1;
  if (format == image_format::jpeg && header_size && needed_scale_or_zero > 0) factor = reduction_for(needed_scale_or_zero);
  const int flag = (factor == 8   ? cv::IMREAD_REDUCED_GRAYSCALE_8
                    : factor == 4 ? cv::IMREAD_REDUCED_GRAYSCALE_4
                    : factor == 2 ? cv::IMREAD_REDUCED_GRAYSCALE_2
                                  : cv::IMREAD_GRAYSCALE) |
                   cv::IMREAD_IGNORE_ORIENTATION;
  cv::Mat pixels;
  auto fast = detail::png_status::unsupported;
  if (format == image_format::png) fast = detail::decode_png_fast(bytes, pixels);
  if (fast == detail::png_status::corrupt)
    throw data_error(path, "cannot decode image: corrupt PNG data (bad chunk, filter or compressed stream)");
  if (fast == detail::png_status::unsupported) {
    try {
      pixels = cv::imdecode(cv::_InputArray(bytes.data(), static_cast<int>(bytes.size())), flag);
    } catch (const cv::Exception& e) {
      throw data_error(path, std::string("cannot decode image: ") + e.what());
    }
  }
  if (pixels.empty()) throw data_error(path, "cannot decode image: the file is corrupt, truncated or not an image");
  if (pixels.depth() != CV_8U) pixels.convertTo(pixels, CV_8U, 1.0 / 257.0);
  decoded_image out;
  out.original_size = header_size.value_or(pixels.size());
  if (factor > 1) {
    // libjpeg rounds the reduced size up; the mapping is the factor itself.
    const cv::Size expected((out.original_size.width + factor - 1) / factor, (out.original_size.height + factor - 1) / factor);
    if (pixels.size() != expected) {
      factor = 1;  // an unexpected decoder: fall back to the sizes it reports
      out.scale_x = static_cast<double>(out.original_size.width) / pixels.cols;
      out.scale_y = static_cast<double>(out.original_size.height) / pixels.rows;
    } else {
      out.scale_x = out.scale_y = factor;
    }
  } else if (pixels.size() != out.original_size) {
    out.original_size = pixels.size();  // a header we misread: trust the decoder
  }
  out.reduction = factor == 1 ? std::max(out.scale_x, 1.0) : factor;
  out.pixels = std::move(pixels);
  return out;
}

}  // namespace mixtrain::data
