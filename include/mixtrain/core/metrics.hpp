#pragma once
// Validation metrics are a struct of doubles whose fields() name them (see
// core/fields.hpp), chosen by the task. A policy that monitors a metric names
// it in its config; check_monitor makes a name the task does not report a
// compile error that names the policy and the metrics type.
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>

#include <mixtrain/core/fields.hpp>

namespace mixtrain {

template <described Metrics>
constexpr bool has_metric(std::string_view name) {
  return std::apply([&](const auto&... f) { return ((f.name == name) || ...); }, Metrics::fields());
}

// The value of a metric by name (names are checked at compile time where
// they come from a policy's config).
template <described Metrics>
double metric_value(const Metrics& metrics, std::string_view name) {
  double value = 0;
  bool found = false;
  std::apply(
      [&](const auto&... f) {
        ((f.name == name ? (value = static_cast<double>(metrics.*(f.member)), found = true) : false), ...);
      },
      Metrics::fields());
  if (!found) throw std::invalid_argument("no metric named '" + std::string(name) + "'");
  return value;
}

// Every metric name, in declaration order.
template <described Metrics>
std::vector<std::string_view> metric_names() {
  std::vector<std::string_view> names;
  std::apply([&](const auto&... f) { (names.push_back(f.name), ...); }, Metrics::fields());
  return names;
}

// Instantiated by policies that monitor a metric: `Policy::monitor` must be a
// field of the task's metrics type.
template <class Policy, class Metrics>
struct check_monitor {
  static constexpr bool ok = has_metric<Metrics>(Policy::monitor);
  static_assert(ok, "the policy's `monitor` names a metric that the task does not report; the policy and the task's "
                    "metrics type are named in this instantiation, and the metrics type's fields() lists the names");
};

}  // namespace mixtrain
