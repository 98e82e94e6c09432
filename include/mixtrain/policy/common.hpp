#pragma once
// Shared by the policies: the monitored validation metric (early stopping,
// best checkpoints, plateau schedule) and flag validators with plain messages.
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include <fmt/core.h>

#include <mixtrain/core/metrics.hpp>

namespace mixtrain::policy {

enum class metric_mode { min, max };

// A metric name that fits a structural template argument (e.g. "val_mre").
inline constexpr std::size_t metric_name_size = 32;

constexpr bool valid_metric_name(const char (&name)[metric_name_size]) {
  return name[0] != '\0' && name[metric_name_size - 1] == '\0';
}

inline std::string_view mode_name(metric_mode mode) { return mode == metric_mode::min ? "min" : "max"; }
inline std::string describe_value(metric_mode mode) { return std::string(mode_name(mode)); }

// The worst possible value, so the first real one always improves on it.
inline double worst_value(metric_mode mode) {
  return mode == metric_mode::min ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
}

// Strictly better by more than `min_delta` (Lightning's EarlyStopping rule).
inline bool improves(double value, double best, metric_mode mode, double min_delta = 0) {
  return mode == metric_mode::min ? value < best - min_delta : value > best + min_delta;
}

// The monitored metric's latest value. `Policy::monitor` must name a field of
// the task's metrics type: a typo is a compile error naming the policy.
template <class Policy, class Context>
double monitored_value(const Context& ctx) {
  using metrics_type = std::remove_cvref_t<decltype(ctx.metrics)>;
  static_assert(check_monitor<Policy, metrics_type>::ok);
  return metric_value(ctx.metrics, Policy::monitor);
}

}  // namespace mixtrain::policy
