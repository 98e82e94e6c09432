#pragma once
// The first image file directory (IFD) of a TIFF, little or big endian: size,
// bits, channels and where the pixel data end, so that the size limits, the
// memory bound and the truncation check work before OpenCV (libtiff) decodes.
// BigTIFF is not taken. libtiff writes the directory after the pixel data, so
// the caller may need the whole file (image_file.hpp reads it then).
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::data {

struct tiff_directory {
  bool complete = false;  // the directory lies inside the bytes given
  cv::Size size;
  int bits = 0;  // of the first sample
  int channels = 1;
  int compression = 1;
  int sample_format = 1;  // 1 unsigned, 2 signed, 3 floating point
  std::uint64_t data_end = 0;  // one past the last strip or tile byte
};

MIXTRAIN_COLD bool is_tiff(const std::vector<std::uint8_t>& b);

MIXTRAIN_COLD tiff_directory parse_tiff_directory(const std::vector<std::uint8_t>& b);

// Why this TIFF is not decoded here, or empty.
MIXTRAIN_COLD std::string tiff_problem(const tiff_directory& d);

}  // namespace mixtrain::data

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/data/impl/tiff_header.ipp>
#endif
