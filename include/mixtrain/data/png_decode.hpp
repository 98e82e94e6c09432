#pragma once
// The fast path for grayscale PNGs of 8 or 16 bits, not interlaced: the IDAT
// stream is inflated with libdeflate (2.5-4x faster than libpng + zlib in
// OpenCV, same pixels) and the row filters undone here. libdeflate is looked
// up at run time, so the build needs nothing; without it, and for every
// other PNG, image_file.hpp goes through OpenCV.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include <dlfcn.h>

#include <opencv2/core.hpp>

#include <mixtrain/data/image_window.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::data {

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

MIXTRAIN_COLD std::uint32_t read_be32(const std::uint8_t* p);

// Undoes one PNG row filter in place of `row` (`bpp` bytes per pixel). For one
// byte per pixel the left and upper-left neighbours stay in registers: a
// store-to-load round trip per byte would make the prefix sums of "Sub" and
// "Paeth" several times slower than inflating.
MIXTRAIN_COLD bool unfilter_row_gray8(int filter, std::uint8_t* row, const std::uint8_t* previous, std::size_t length);

MIXTRAIN_COLD bool unfilter_row(int filter, std::uint8_t* row, const std::uint8_t* previous, std::size_t length, std::size_t bpp);

enum class png_status { decoded, unsupported, corrupt };

// Decodes a non-interlaced grayscale PNG of 8 or 16 bits to 8-bit gray: 8
// bits exactly as OpenCV's IMREAD_GRAYSCALE does, 16 bits through the
// percentile window of image_window.hpp (not OpenCV's high byte). Two
// buffers only: the file's bytes, whose IDAT data are joined in place (so a
// decoded PNG leaves `b` altered; an unsupported one leaves it untouched),
// and the inflated rows, unfiltered in place; `out` is a view into them.
MIXTRAIN_COLD png_status decode_png_fast(std::vector<std::uint8_t>& b, cv::Mat& out);

}  // namespace detail

}  // namespace mixtrain::data

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/data/impl/png_decode.ipp>
#endif
