#pragma once
// Early stopping (Lightning's EarlyStopping): after each validation, a value
// better than the best by more than min_delta resets the count; otherwise the
// count grows, and at `patience` epochs without improvement the run stops
// (ctx.request_stop with the reason, also logged). A non-finite value stops
// at once. With mt::policy::ema the metrics are the EMA model's. `monitor`
// must name a field of the task's metrics: a typo does not compile.
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>

#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/fields.hpp>
#include <mixtrain/core/flag_set.hpp>
#include <mixtrain/policy/common.hpp>

namespace mixtrain::policy {

struct early_stopping_config {
  int patience = 20;        // epochs without improvement before stopping
  double min_delta = 0.0;   // smaller changes do not count as improvement
  char monitor[metric_name_size] = "val_mre";
  metric_mode mode = metric_mode::min;
  bool enabled = true;

  static constexpr auto fields() {
    using c = early_stopping_config;
    return std::tuple{
        field{&c::enabled, "enabled", flag{"--early_stopping", "stop when validation stops improving (--early_stopping=false: off)"}},
        field{&c::monitor, "monitor"},
        field{&c::mode, "mode"},
        field{&c::patience, "patience", flag{"--patience", "epochs without improvement before stopping", 1}},
        field{&c::min_delta, "min_delta", flag{"--min_delta", "smallest change that counts as improvement", 0}},
    };
  }
};

// Best value and the epochs since it improved (saved with checkpoints).
struct plateau_state {
  double best = 0;
  std::int64_t best_epoch = 0;
  std::int64_t wait = 0;

  static constexpr auto fields() {
    return std::tuple{field{&plateau_state::best, "best"}, field{&plateau_state::best_epoch, "best_epoch"},
                      field{&plateau_state::wait, "wait"}};
  }
};

template <early_stopping_config C = early_stopping_config{}>
struct early_stopping {
  static_assert(C.patience >= 1, "early_stopping: patience must be at least 1.");
  static_assert(C.min_delta >= 0, "early_stopping: min_delta must not be negative.");
  static_assert(valid_metric_name(C.monitor), "early_stopping: monitor must name a metric, such as \"val_mre\".");
  static constexpr std::string_view name = "early_stopping";
  static constexpr std::string_view exclusive = "early_stopping";
  static constexpr std::string_view monitor = C.monitor;
  using config_type = early_stopping_config;

  config_type config = C;

  void add_flags(flag_set cli) { add_field_flags(cli, config); }
  [[nodiscard]] nlohmann::json describe() const { return describe_fields(config); }

  void on_validation_end(auto& ctx) {
    if (!config.enabled) return;
    const double value = monitored_value<early_stopping>(ctx);
    if (!std::isfinite(value)) {
      stop(ctx, fmt::format("{} is {}", monitor, value));
    } else if (improves(value, state_.best, config.mode, config.min_delta)) {
      state_ = {value, ctx.epoch + 1, 0};
    } else if (++state_.wait >= config.patience) {
      stop(ctx, fmt::format("{} did not improve by more than {} for {} epochs (best {:.6g} after epoch {})", monitor,
                            config.min_delta, state_.wait, state_.best, state_.best_epoch));
    }
  }

  void save_state(torch::serialize::OutputArchive& archive) const { save_fields(archive, state_); }
  void load_state(torch::serialize::InputArchive& archive) { load_fields(archive, state_); }

  [[nodiscard]] double best() const { return state_.best; }
  [[nodiscard]] std::int64_t wait() const { return state_.wait; }

 private:
  static void stop(auto& ctx, const std::string& reason) {
    *ctx.log << "early stopping: " << reason << "\n";
    ctx.request_stop("early stopping: " + reason);
  }

  plateau_state state_{worst_value(C.mode), 0, 0};
};

}  // namespace mixtrain::policy
