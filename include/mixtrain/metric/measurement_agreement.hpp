#pragma once
// How far clinical measurements from predicted landmarks are from those of
// the annotated ones, image by image: the error in each measurement's own
// unit and whether the prediction puts the image in the same class (what a
// clinician reads off the numbers), with the confusion between classes.
#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <mixtrain/core/separate_compilation.hpp>
#include <mixtrain/metric/cephalometric.hpp>

namespace mixtrain::metric {

class measurement_agreement {
 public:
  struct summary {
    std::size_t count = 0;       // images where truth and prediction both have a value
    std::size_t truth_only = 0;  // truth has a value, the prediction none (e.g. coincident points)
    double abs_error_sum = 0;
    double error_sum = 0;  // predicted - truth
    std::size_t classified = 0;
    std::size_t correct = 0;
    std::vector<std::vector<std::size_t>> confusion;  // [truth class][predicted class]

    [[nodiscard]] std::optional<double> mae() const {
      return count ? std::optional(abs_error_sum / static_cast<double>(count)) : std::nullopt;
    }
    [[nodiscard]] std::optional<double> bias() const {
      return count ? std::optional(error_sum / static_cast<double>(count)) : std::nullopt;
    }
    [[nodiscard]] std::optional<double> accuracy() const {
      return classified ? std::optional(static_cast<double>(correct) / static_cast<double>(classified)) : std::nullopt;
    }
  };

  explicit measurement_agreement(std::vector<measurement_definition> definitions = cephalometric_measurements());

  // Both from cephalometry::measure on the same image, in table order.
  void add(const std::vector<measurement_value>& truth, const std::vector<measurement_value>& predicted);

  [[nodiscard]] std::size_t images() const { return images_; }
  [[nodiscard]] const std::vector<measurement_definition>& definitions() const { return definitions_; }
  [[nodiscard]] const summary& of(std::size_t d) const { return summaries_.at(d); }

  // {"images": N, "measurements": {"ANB": {"unit": "deg", "count": n, "truth_only": k,
  //   "mae": e|null, "bias": b|null, "accuracy": a|null,
  //   "classes": [{"id": "C1", "label": "class I"}, ...], "confusion": [[...], ...]}, ...}}
  // confusion rows are the truth's class, columns the prediction's.
  [[nodiscard]] nlohmann::json json() const;

  // One row per measurement, ready to paste; confusion tables follow on request.
  [[nodiscard]] std::string markdown(bool with_confusion = false) const;

 private:
  std::vector<measurement_definition> definitions_;
  std::vector<summary> summaries_;
  std::size_t images_ = 0;
};

}  // namespace mixtrain::metric

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/metric/impl/measurement_agreement.ipp>
#endif
