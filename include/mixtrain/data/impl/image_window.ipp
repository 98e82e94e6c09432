#pragma once
// Definitions of the functions declared in <mixtrain/data/image_window.hpp>: included at its
// end (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/data/image_window.hpp>

namespace mixtrain::data {

MIXTRAIN_COLD intensity_window window_from_histogram(const std::vector<std::uint64_t>& counts, std::int64_t offset) {
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

MIXTRAIN_COLD std::uint8_t windowed_value(std::int64_t v, intensity_window w) {
  if (v <= w.low) return 0;
  if (v >= w.high) return 255;
  const std::int64_t range = w.high - w.low;
  return static_cast<std::uint8_t>((510 * (v - w.low) + range) / (2 * range));
}

MIXTRAIN_COLD std::vector<std::uint8_t> window_table16(intensity_window w) {
  std::vector<std::uint8_t> table(65536);
  for (std::int64_t v = 0; v < 65536; ++v) table[static_cast<std::size_t>(v)] = windowed_value(v, w);
  return table;
}

MIXTRAIN_COLD intensity_window percentile_window(const cv::Mat& values) {
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

MIXTRAIN_COLD cv::Mat apply_window(const cv::Mat& values, intensity_window w) {
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

MIXTRAIN_COLD cv::Mat percentile_window_to_8bit(const cv::Mat& values) { return apply_window(values, percentile_window(values)); }

}  // namespace mixtrain::data
