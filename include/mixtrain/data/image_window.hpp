#pragma once
// Deep images (16-bit PNG/TIFF, DICOM) to 8 bits: the percentile window.
//
// The rule, exactly: of the N values of the image (one per pixel, after any
// colour-to-luma conversion), drop the k = floor(N / 200) lowest and the k
// highest (the 0.5th and 99.5th percentiles); lo and hi are the smallest and
// largest value left. A value v becomes
//   0                                   if v <= lo
//   255                                 if v >= hi
//   floor(255 * (v - lo) / (hi - lo) + 1/2)   otherwise
// (hi == lo: 0 for v <= lo, 255 above). Why: a 12-bit X-ray stored in 16 bits
// spans 0..4095, and the high byte alone (the old rule) made it nearly black;
// the percentiles keep a few saturated or dead pixels from setting the range.
// The histogram makes it O(N + range), without sorting.
#include <algorithm>
#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::data {

struct intensity_window {
  std::int64_t low = 0;
  std::int64_t high = 0;
};

// The window of a histogram: counts[i] pixels have the value offset + i.
MIXTRAIN_COLD intensity_window window_from_histogram(const std::vector<std::uint64_t>& counts, std::int64_t offset);

MIXTRAIN_COLD std::uint8_t windowed_value(std::int64_t v, intensity_window w);

// The 65536-entry table for 16-bit values.
MIXTRAIN_COLD std::vector<std::uint8_t> window_table16(intensity_window w);

// The percentile window of a one-channel CV_16U or CV_32S image.
MIXTRAIN_COLD intensity_window percentile_window(const cv::Mat& values);

// A one-channel CV_16U or CV_32S image to 8 bits through window `w`.
MIXTRAIN_COLD cv::Mat apply_window(const cv::Mat& values, intensity_window w);

MIXTRAIN_COLD cv::Mat percentile_window_to_8bit(const cv::Mat& values);

}  // namespace mixtrain::data

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/data/impl/image_window.ipp>
#endif
