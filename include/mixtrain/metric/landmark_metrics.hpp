#pragma once
// Radial-error metrics in millimetres: per landmark and overall MRE, SD and
// success detection rates, computed at original resolution times pixel size.
#include <array>
#include <cmath>
#include <cstddef>
#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <mixtrain/data/annotation.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::metric {

inline constexpr std::array<double, 4> sdr_thresholds_mm = {2.0, 2.5, 3.0, 4.0};

struct radial_summary {
  double mre_mm = 0;
  double sd_mm = 0;  // sample standard deviation (n - 1), as reported in the literature
  std::array<double, 4> sdr = {};  // fractions in [0, 1] at sdr_thresholds_mm
  std::size_t count = 0;
};

MIXTRAIN_COLD radial_summary summarize(const std::vector<double>& errors_mm);

// The radial error of landmark k in mm: the distance in original pixels times
// the image's pixel size.
MIXTRAIN_COLD double radial_error_mm(const data::annotated_image& truth, const std::vector<data::point>& predicted,
                                     std::size_t k);

// Collects radial errors image by image; missing landmarks do not count.
class radial_errors {
 public:
  explicit radial_errors(std::size_t num_landmarks) : per_landmark_(num_landmarks) {}

  void add(const data::annotated_image& truth, const std::vector<data::point>& predicted) {
    for (std::size_t k = 0; k < per_landmark_.size(); ++k) {
      if (!truth.present[k]) continue;
      const double mm = radial_error_mm(truth, predicted, k);
      per_landmark_[k].push_back(mm);
      all_.push_back(mm);
    }
  }

  [[nodiscard]] radial_summary overall() const { return summarize(all_); }
  [[nodiscard]] radial_summary landmark(std::size_t k) const { return summarize(per_landmark_.at(k)); }
  [[nodiscard]] std::size_t num_landmarks() const { return per_landmark_.size(); }

 private:
  std::vector<std::vector<double>> per_landmark_;
  std::vector<double> all_;
};

MIXTRAIN_COLD nlohmann::json to_json(const radial_summary& s);

// The mean-shape baseline: the training set's mean landmark positions in
// normalised letterbox coordinates, mapped into each image.
class mean_shape_baseline {
 public:
  explicit mean_shape_baseline(const data::split& train) {
    const auto l = train.images.empty() ? 0 : train.images.front().landmarks.size();
    sum_.assign(l, {});
    count_.assign(l, 0);
    for (const auto& image : train.images) {
      if (image.width <= 0) continue;  // unreadable header: skipped, reported when decoded
      const auto [w, h] = extent(image);
      for (std::size_t k = 0; k < l; ++k) {
        if (!image.present[k]) continue;
        sum_[k].x += (image.landmarks[k].x - w.first) / w.second;
        sum_[k].y += (image.landmarks[k].y - h.first) / h.second;
        ++count_[k];
      }
    }
    for (std::size_t k = 0; k < l; ++k)
      if (count_[k]) sum_[k] = {sum_[k].x / count_[k], sum_[k].y / count_[k]};
  }

  // Positions relative to the square box centred on the image whose side is
  // the longer image side (the letterbox frame), so the prediction is the
  // same in every network input.
  [[nodiscard]] std::vector<data::point> predict(const data::annotated_image& image) const {
    const auto [w, h] = extent(image);
    std::vector<data::point> out;
    for (const auto& p : sum_) out.push_back({w.first + p.x * w.second, h.first + p.y * h.second});
    return out;
  }

 private:
  static std::pair<std::pair<double, double>, std::pair<double, double>> extent(const data::annotated_image& image) {
    const double w = std::max(image.width, 1), h = std::max(image.height, 1);
    const double side = std::max(w, h);
    return {{(w - side) / 2.0, side}, {(h - side) / 2.0, side}};
  }

  std::vector<data::point> sum_;
  std::vector<int> count_;
};

}  // namespace mixtrain::metric

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/metric/impl/landmark_metrics.ipp>
#endif
