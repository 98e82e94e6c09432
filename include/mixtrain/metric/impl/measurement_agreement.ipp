#pragma once
// Definitions of the functions declared in <mixtrain/metric/measurement_agreement.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/metric/measurement_agreement.hpp>

namespace mixtrain::metric {

MIXTRAIN_COLD measurement_agreement::measurement_agreement(std::vector<measurement_definition> definitions)
    : definitions_(std::move(definitions)), summaries_(definitions_.size()) {
  for (std::size_t d = 0; d < definitions_.size(); ++d) {
    const auto n = definitions_[d].classes.size();
    summaries_[d].confusion.assign(n, std::vector<std::size_t>(n, 0));
  }
}

MIXTRAIN_COLD void measurement_agreement::add(const std::vector<measurement_value>& truth, const std::vector<measurement_value>& predicted) {
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

MIXTRAIN_COLD nlohmann::json measurement_agreement::json() const {
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

MIXTRAIN_COLD std::string measurement_agreement::markdown(bool with_confusion) const {
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

}  // namespace mixtrain::metric
