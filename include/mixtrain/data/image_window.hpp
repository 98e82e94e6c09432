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

namespace mixtrain::data {

struct intensity_window {
  std::int64_t low = 0;
  std::int64_t high = 0;
};

// The window of a histogram: counts[i] pixels have the value offset + i.
inline intensity_window window_from_histogram(const std::vector<std::uint64_t>& counts, std::int64_t offset) {
  std::uint64_t total = 0;
  for (const auto c : counts) total += c;
  const std::uint64_t k = total / 200;
  intensity_window w;
  std::uint64_t below = 0;  // pixels with a smaller value
  for (std::size_t i = 0; i < counts.size(); ++i) {
    below += counts[i];
    if (below > k) {
      w.low = offset + static_cast<std::int64_t>(i);
      break;
    }
  }
  std::uint64_t above = 0;
  for (std::size_t i = counts.size(); i-- > 0;) {
    above += counts[i];
    if (above > k) {
      w.high = offset + static_cast<std::int64_t>(i);
      break;
    }
  }
  return w;
}

inline std::uint8_t windowed_value(std::int64_t v, intensity_window w) {
  if (v <= w.low) return 0;
  if (v >= w.high) return 255;
  const std::int64_t range = w.high - w.low;
  return static_cast<std::uint8_t>((510 * (v - w.low) + range) / (2 * range));
}

// The 65536-entry table for 16-bit values.
inline std::vector<std::uint8_t> window_table16(intensity_window w) {
  std::vector<std::uint8_t> table(65536);
  for (std::int64_t v = 0; v < 65536; ++v) table[static_cast<std::size_t>(v)] = windowed_value(v, w);
  return table;
}

// The percentile window of a one-channel CV_16U or CV_32S image.
inline intensity_window percentile_window(const cv::Mat& values) {
  CV_Assert(values.channels() == 1 && (values.depth() == CV_16U || values.depth() == CV_32S));
  if (values.empty()) return {};
  if (values.depth() == CV_16U) {
    std::vector<std::uint64_t> counts(65536, 0);
    for (int y = 0; y < values.rows; ++y) {
      const auto* row = values.ptr<std::uint16_t>(y);
      for (int x = 0; x < values.cols; ++x) ++counts[row[x]];
    }
    return window_from_histogram(counts, 0);
  }
  double lowest = 0, highest = 0;
  cv::minMaxLoc(values, &lowest, &highest);
  const auto offset = static_cast<std::int64_t>(lowest);
  const auto range = static_cast<std::int64_t>(highest) - offset + 1;
  if (range <= (std::int64_t{1} << 24)) {
    std::vector<std::uint64_t> counts(static_cast<std::size_t>(range), 0);
    for (int y = 0; y < values.rows; ++y) {
      const auto* row = values.ptr<std::int32_t>(y);
      for (int x = 0; x < values.cols; ++x) ++counts[static_cast<std::size_t>(row[x] - offset)];
    }
    return window_from_histogram(counts, offset);
  }
  // A range too wide for a histogram (32-bit data): the same ranks by selection.
  std::vector<std::int32_t> all;
  all.reserve(values.total());
  for (int y = 0; y < values.rows; ++y) all.insert(all.end(), values.ptr<std::int32_t>(y), values.ptr<std::int32_t>(y) + values.cols);
  const std::size_t k = all.size() / 200;
  std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end());
  const std::int64_t low = all[k];
  std::nth_element(all.begin(), all.end() - 1 - static_cast<std::ptrdiff_t>(k), all.end());
  return {low, all[all.size() - 1 - k]};
}

// A one-channel CV_16U or CV_32S image to 8 bits through window `w`.
inline cv::Mat apply_window(const cv::Mat& values, intensity_window w) {
  cv::Mat out(values.size(), CV_8UC1);
  if (values.depth() == CV_16U) {
    const auto table = window_table16(w);
    for (int y = 0; y < values.rows; ++y) {
      const auto* in = values.ptr<std::uint16_t>(y);
      auto* o = out.ptr<std::uint8_t>(y);
      for (int x = 0; x < values.cols; ++x) o[x] = table[in[x]];
    }
  } else {
    for (int y = 0; y < values.rows; ++y) {
      const auto* in = values.ptr<std::int32_t>(y);
      auto* o = out.ptr<std::uint8_t>(y);
      for (int x = 0; x < values.cols; ++x) o[x] = windowed_value(in[x], w);
    }
  }
  return out;
}

inline cv::Mat percentile_window_to_8bit(const cv::Mat& values) { return apply_window(values, percentile_window(values)); }

}  // namespace mixtrain::data
