#pragma once
// Reading cephalograms: dimensions from the file header (to choose a reduced
// decode before decoding), checks that refuse what cannot be decoded (empty,
// not PNG/JPEG/BMP, truncated, or a header claiming too many pixels), and
// decoding with a clear error that names the file.
//
// Formats taken: PNG, JPEG, BMP and TIFF (8 or 16-bit samples, first page),
// recognised by their first bytes (the extension only selects files in the
// readers, through taken_image_extensions()), and DICOM when
// <mixtrain/data/dicom.hpp> is included (it registers a decoder below, so
// this header never includes DCMTK). Grayscale PNGs of 8 or 16 bits, not
// interlaced, go through png_decode.hpp (libdeflate); the rest through OpenCV.
//
// Pixel values. The decoded image is always 8-bit, one channel:
//  - 8-bit gray: as stored.
//  - 16-bit PNG or TIFF: the percentile window of image_window.hpp (the
//    0.5th..99.5th percentile of the image's values mapped linearly onto
//    0..255), so a 12-bit X-ray stored in 16 bits uses the whole 8-bit range.
//    Colour is first made luma at 16 bits. DICOM: see dicom.hpp.
//  - Colour (RGB, RGBA, palette PNG; 24/32-bit BMP; colour JPEG or TIFF): the
//    BT.601 luma 0.299 R + 0.587 G + 0.114 B (libpng/OpenCV fixed point,
//    within one grey level), alpha ignored.
//
// Reduced decoding. Only JPEG decodes faster at reduced resolution: libjpeg
// scales in the DCT domain, so output pixel k covers original pixels
// [d*k, d*k + d) exactly, and the output is ceil(W / d) wide. OpenCV's
// IMREAD_REDUCED_* on PNG and BMP decodes at full size and then resizes to
// floor(W / d) with bilinear sampling, which costs time and aliases; those
// formats are therefore decoded at full size here and the caller scales them
// down once, with area averaging, to what it needs. Either way the decoded
// image comes with its exact per-axis mapping back to original pixel centres.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <mixtrain/data/annotation.hpp>
#include <mixtrain/data/geometry.hpp>
#include <mixtrain/data/image_format.hpp>
#include <mixtrain/data/image_window.hpp>
#include <mixtrain/data/png_decode.hpp>
#include <mixtrain/data/tiff_header.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::data {

MIXTRAIN_COLD std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path);

// Width and height from a PNG, BMP, JPEG or TIFF header (or DICOM with its
// decoder registered); nullopt for other formats or when not found in `b`.
MIXTRAIN_COLD std::optional<cv::Size> image_size_from_header(const std::vector<std::uint8_t>& b);

MIXTRAIN_COLD image_header parse_image_header(const std::vector<std::uint8_t>& b);

// An upper bound of the bytes decode_grayscale (and a later halving of its
// output) holds at once for a file of `file_bytes` with this header, the
// file's own bytes included: the memory budget's per-sample transient term.
MIXTRAIN_COLD std::size_t decode_bytes_bound(const image_header& h, std::size_t file_bytes);

// Why a file cannot hold a whole image, or empty when it looks complete.
// libjpeg would return a silently grey-filled picture for a truncated JPEG,
// and OpenCV's BMP reader fails with a message on stderr only; a PNG without
// its end chunk fails later with a less clear message.
MIXTRAIN_COLD std::string truncation_problem(const std::vector<std::uint8_t>& b);

MIXTRAIN_COLD bool looks_truncated(const std::vector<std::uint8_t>& b);

// Decoding refuses, before allocating, a header claiming more pixels than
// this: cephalograms are 2-10 Mpx, while a PNG of zeros inflates about 1000:1,
// so a 10 MB file could claim 10^10 pixels (a decompression bomb).
inline constexpr std::int64_t max_image_pixels = std::int64_t{1} << 28;  // 268 Mpx, e.g. 16384 x 16384
inline constexpr int max_image_side = 65535;                            // JPEG's own limit

// A name for a few formats the reader does not take, so the error says what
// the file is rather than "unknown".
MIXTRAIN_COLD std::string_view untaken_format_name(const std::vector<std::uint8_t>& b);

// Why the header in `b` (the file's start or all of it) cannot be decoded
// here, or empty when it can: empty, not a format taken, no size, or too big.
MIXTRAIN_COLD std::string header_problem(const std::vector<std::uint8_t>& b);

// The file's first 64 KiB, enough for a PNG or BMP header and nearly every
// JPEG or DICOM one; the whole file when a JPEG's frame header lies beyond
// (large EXIF or ICC segments come first), a DICOM's image tags do, or a
// TIFF's directory does (libtiff writes it after the pixel data).
MIXTRAIN_COLD std::vector<std::uint8_t> read_image_head(const std::filesystem::path& path);

// Width and height from the file's header (read_image_head: the whole file
// when a JPEG, TIFF or DICOM header needs it); nullopt when unreadable.
MIXTRAIN_COLD std::optional<cv::Size> read_image_header_size(const std::filesystem::path& path);

// The bound for a file; its header as checked_image_header reads it. 0 when unreadable.
MIXTRAIN_COLD std::size_t decode_bytes_bound(const std::filesystem::path& path);

// The header of an image file, or a data_error naming the file and what is
// wrong: what a reader checks before training starts.
MIXTRAIN_COLD image_header checked_image_header(const std::filesystem::path& path);

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
MIXTRAIN_COLD int reduction_for(double needed_scale);

// Decodes grayscale (see "Pixel values" above); a JPEG at reduced resolution
// when `needed_scale` (input pixels per original pixel) is at most half, other
// formats at full size. EXIF orientation is ignored: pixels stay in the frame
// the header describes, which is the frame of the landmark coordinates.
// `bytes` are the whole file (a PNG's compressed data are joined in place);
// `path` only names it in errors, so a fuzzer can feed memory.
MIXTRAIN_COLD decoded_image decode_grayscale(std::vector<std::uint8_t> bytes, const std::filesystem::path& path,
                                             double needed_scale_or_zero = 0);

MIXTRAIN_COLD decoded_image decode_grayscale(const std::filesystem::path& path, double needed_scale_or_zero = 0);

}  // namespace mixtrain::data

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/data/impl/image_file.ipp>
#endif
