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

  explicit measurement_agreement(std::vector<measurement_definition> definitions = cephalometric_measurements())
      : definitions_(std::move(definitions)), summaries_(definitions_.size()) {
    for (std::size_t d = 0; d < definitions_.size(); ++d) {
      const auto n = definitions_[d].classes.size();
      summaries_[d].confusion.assign(n, std::vector<std::size_t>(n, 0));
    }
  }

  // Both from cephalometry::measure on the same image, in table order.
  void add(const std::vector<measurement_value>& truth, const std::vector<measurement_value>& predicted) {
    ++images_;
    for (std::size_t d = 0; d < definitions_.size() && d < truth.size() && d < predicted.size(); ++d) {
      auto& s = summaries_[d];
      if (!truth[d].value) continue;
      if (!predicted[d].value) {
        ++s.truth_only;
        continue;
      }
      const double error = *predicted[d].value - *truth[d].value;
      ++s.count;
      s.abs_error_sum += std::abs(error);
      s.error_sum += error;
      if (truth[d].class_index && predicted[d].class_index) {
        ++s.classified;
        s.correct += *truth[d].class_index == *predicted[d].class_index ? 1 : 0;
        ++s.confusion[*truth[d].class_index][*predicted[d].class_index];
      }
    }
  }

  [[nodiscard]] std::size_t images() const { return images_; }
  [[nodiscard]] const std::vector<measurement_definition>& definitions() const { return definitions_; }
  [[nodiscard]] const summary& of(std::size_t d) const { return summaries_.at(d); }

  // {"images": N, "measurements": {"ANB": {"unit": "deg", "count": n, "truth_only": k,
  //   "mae": e|null, "bias": b|null, "accuracy": a|null,
  //   "classes": [{"id": "C1", "label": "class I"}, ...], "confusion": [[...], ...]}, ...}}
  // confusion rows are the truth's class, columns the prediction's.
  [[nodiscard]] nlohmann::json json() const {
    auto measurements = nlohmann::json::object();
    for (std::size_t d = 0; d < definitions_.size(); ++d) {
      const auto& s = summaries_[d];
      const auto& definition = definitions_[d];
      auto optional = [](std::optional<double> v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
      nlohmann::json entry = {{"unit", unit_name(definition.unit)},
                              {"count", s.count},
                              {"truth_only", s.truth_only},
                              {"mae", optional(s.mae())},
                              {"bias", optional(s.bias())}};
      if (!definition.classes.empty()) {
        entry["accuracy"] = optional(s.accuracy());
        auto classes = nlohmann::json::array();
        for (const auto& c : definition.classes) classes.push_back({{"id", c.id}, {"label", c.label}});
        entry["classes"] = std::move(classes);
        entry["confusion"] = s.confusion;
      }
      measurements[definition.name] = std::move(entry);
    }
    return {{"images", images_}, {"measurements", std::move(measurements)}};
  }

  // One row per measurement, ready to paste; confusion tables follow on request.
  [[nodiscard]] std::string markdown(bool with_confusion = false) const {
    std::string out = "| measurement | unit | images | MAE | bias | class agreement |\n|---|---|---:|---:|---:|---:|\n";
    for (std::size_t d = 0; d < definitions_.size(); ++d) {
      const auto& s = summaries_[d];
      const auto& definition = definitions_[d];
      const int digits = definition.unit == measurement_unit::ratio ? 3 : 2;
      auto number = [&](std::optional<double> v) { return v ? fmt::format("{:.{}f}", *v, digits) : std::string("n/a"); };
      std::string agreement = "-";
      if (!definition.classes.empty())
        agreement = s.accuracy() ? fmt::format("{:.1f}% ({}/{})", 100.0 * *s.accuracy(), s.correct, s.classified)
                                 : std::string("n/a");
      out += fmt::format("| {} | {} | {} | {} | {} | {} |\n", definition.name, unit_name(definition.unit), s.count,
                         number(s.mae()), number(s.bias()), agreement);
    }
    if (!with_confusion) return out;
    for (std::size_t d = 0; d < definitions_.size(); ++d) {
      const auto& s = summaries_[d];
      const auto& classes = definitions_[d].classes;
      if (classes.empty() || s.classified == 0) continue;
      out += fmt::format("\n{} (rows: truth, columns: prediction)\n\n| |", definitions_[d].name);
      for (const auto& c : classes) out += fmt::format(" {} |", c.id);
      out += "\n|---|";
      for (std::size_t c = 0; c < classes.size(); ++c) out += "---:|";
      out += "\n";
      for (std::size_t r = 0; r < classes.size(); ++r) {
        out += fmt::format("| {} {} |", classes[r].id, classes[r].label);
        for (std::size_t c = 0; c < classes.size(); ++c) out += fmt::format(" {} |", s.confusion[r][c]);
        out += "\n";
      }
    }
    return out;
  }

 private:
  std::vector<measurement_definition> definitions_;
  std::vector<summary> summaries_;
  std::size_t images_ = 0;
};

}  // namespace mixtrain::metric
