#pragma once
// Result tables and metrics files shared by train and evaluate. A landmark
// task's evaluation (radial errors beside the mean-shape baseline) gets the
// per-landmark table and metrics.json layout; any other task's evaluation is
// reported through its metrics type's field list.
#include <concepts>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <mixtrain/core/fields.hpp>
#include <mixtrain/data/annotation.hpp>
#include <mixtrain/io/files.hpp>
#include <mixtrain/metric/landmark_metrics.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::app {

// metrics.json: overall figures at the top level, per landmark below, and the
// mean-shape baseline beside them.
MIXTRAIN_COLD nlohmann::json metrics_json(const metric::radial_errors& errors, const metric::radial_errors& baseline,
                                          const data::landmark_set& landmarks, const std::string& split);

MIXTRAIN_COLD void print_results_table(std::ostream& out, const metric::radial_errors& errors,
                                       const metric::radial_errors& baseline, const data::landmark_set& landmarks,
                                       const std::string& title);

MIXTRAIN_COLD void write_json(const std::filesystem::path& path, const nlohmann::json& j);

// An evaluation with per-landmark radial errors, for a landmark set.
template <class Evaluation, class Targets>
concept landmark_results = std::same_as<Targets, data::landmark_set> && requires(const Evaluation& e) {
  { e.errors } -> std::convertible_to<const metric::radial_errors&>;
  { e.baseline_errors } -> std::convertible_to<const metric::radial_errors&>;
};

// An evaluation that writes and prints itself (a class evaluation: recall,
// confusion matrix), alone or as the `classes` part of a multi-task one.
template <class E>
concept self_reporting = requires(const E& e, std::ostream& out) {
  { e.json() } -> std::convertible_to<nlohmann::json>;
  e.print(out);
};
template <class E>
concept with_class_part = requires(const E& e) { requires self_reporting<std::remove_cvref_t<decltype(e.classes)>>; };

// The results of one evaluation as JSON (metrics.json, evaluation/<split>/metrics.json).
template <class Evaluation, class Targets>
nlohmann::json evaluation_json(const Evaluation& e, const Targets& targets, const std::string& split) {
  nlohmann::json j;
  if constexpr (landmark_results<Evaluation, Targets>) j = metrics_json(e.errors, e.baseline_errors, targets, split);
  else if constexpr (self_reporting<Evaluation>) j = e.json();
  else j = describe_fields(e.metrics);
  if constexpr (with_class_part<Evaluation>) j["classes"] = e.classes.json();
  j["split"] = split;
  return j;
}

// The results of one evaluation on the console.
template <class Evaluation, class Targets>
void print_evaluation(std::ostream& out, const Evaluation& e, const Targets& targets, const std::string& title) {
  if constexpr (landmark_results<Evaluation, Targets>) {
    print_results_table(out, e.errors, e.baseline_errors, targets, title);
  } else if constexpr (self_reporting<Evaluation>) {
    out << "\n" << title << "\n";
    e.print(out);
  } else {
    out << "\n" << title << "\n";
    const auto metrics = describe_fields(e.metrics);
    for (const auto& [name, value] : metrics.items()) out << fmt::format("{:<16} {}\n", name, value.dump());
  }
  if constexpr (with_class_part<Evaluation>) {
    out << "\nimage classes\n";
    e.classes.print(out);
  }
}

}  // namespace mixtrain::app

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/app/impl/report.ipp>
#endif
