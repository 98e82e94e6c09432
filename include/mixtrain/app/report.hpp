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

namespace mixtrain::app {

// metrics.json: overall figures at the top level, per landmark below, and the
// mean-shape baseline beside them.
inline nlohmann::json metrics_json(const metric::radial_errors& errors, const metric::radial_errors& baseline,
                                   const data::landmark_set& landmarks, const std::string& split) {
  auto j = metric::to_json(errors.overall());
  j["split"] = split;
  const auto base = baseline.overall();
  j["baseline_mre_mm"] = base.mre_mm;
  j["baseline"] = metric::to_json(base);
  nlohmann::json per = nlohmann::json::object();
  for (std::size_t k = 0; k < landmarks.size(); ++k) per[landmarks.symbols[k]] = metric::to_json(errors.landmark(k));
  j["per_landmark"] = per;
  return j;
}

inline void print_results_table(std::ostream& out, const metric::radial_errors& errors,
                                const metric::radial_errors& baseline, const data::landmark_set& landmarks,
                                const std::string& title) {
  out << "\n" << title << "\n";
  out << fmt::format("{:<10} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}\n", "landmark", "MRE mm", "SD mm", "SDR 2", "SDR 2.5",
                     "SDR 3", "SDR 4");
  auto row = [&](const std::string& name, const metric::radial_summary& s) {
    out << fmt::format("{:<10} {:>8.3f} {:>8.3f} {:>7.1f}% {:>7.1f}% {:>7.1f}% {:>7.1f}%\n", name, s.mre_mm, s.sd_mm,
                       100 * s.sdr[0], 100 * s.sdr[1], 100 * s.sdr[2], 100 * s.sdr[3]);
  };
  for (std::size_t k = 0; k < landmarks.size(); ++k) row(landmarks.symbols[k], errors.landmark(k));
  out << std::string(66, '-') << "\n";
  row("overall", errors.overall());
  row("baseline", baseline.overall());
  out << "(baseline: the training set's mean shape, mapped into each image)\n";
}

inline void write_json(const std::filesystem::path& path, const nlohmann::json& j) {
  io::write_text_atomically(path, j.dump(2) + "\n");
}

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
