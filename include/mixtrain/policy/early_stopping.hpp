#pragma once
// Early stopping (Lightning's EarlyStopping): after each validation, a value
// better than the best by more than min_delta resets the count; otherwise the
// count grows, and at `patience` epochs without improvement the run stops
// (ctx.request_stop with the reason, also logged). A non-finite value stops
// at once. With mt::policy::ema the metrics are the EMA model's.
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/context.hpp>
#include <mixtrain/core/recipe.hpp>
#include <mixtrain/policy/common.hpp>

namespace mixtrain::policy {

struct early_stopping_config {
  int patience = 20;        // epochs without improvement before stopping
  double min_delta = 0.0;   // smaller changes do not count as improvement
  char monitor[metric_name_size] = "val_mre";
  metric_mode mode = metric_mode::min;
  bool enabled = true;
};

template <early_stopping_config C = early_stopping_config{}>
struct early_stopping {
  static_assert(C.patience >= 1, "early_stopping: patience must be at least 1.");
  static_assert(C.min_delta >= 0, "early_stopping: min_delta must not be negative.");
  static_assert(valid_metric_name(C.monitor), "early_stopping: monitor must name a metric, such as \"val_mre\".");
  static constexpr policy_kind kind = policy_kind::early_stopping;
  static constexpr std::string_view name = "early_stopping";

  early_stopping_config config = C;

  void add_flags(CLI::App& cli) {
    cli.add_flag("--early_stopping", config.enabled, "stop when validation stops improving (--early_stopping=false: off)");
    cli.add_option("--patience", config.patience, "epochs without improvement before stopping")->check(at_least(1));
    cli.add_option("--min_delta", config.min_delta, "smallest change that counts as improvement")
        ->check(at_least(0));
  }

  [[nodiscard]] nlohmann::json describe() const {
    return {{"enabled", config.enabled},    {"monitor", config.monitor}, {"mode", mode_name(config.mode)},
            {"patience", config.patience}, {"min_delta", config.min_delta}};
  }

  void on_validation_end(context& ctx) {
    if (!config.enabled) return;
    const double value = monitored_value(ctx, config.monitor, "early_stopping");
    if (!std::isfinite(value)) {
      stop(ctx, fmt::format("{} is {}", config.monitor, value));
    } else if (improves(value, best_, config.mode, config.min_delta)) {
      best_ = value;
      best_epoch_ = ctx.epoch + 1;
      wait_ = 0;
    } else if (++wait_ >= config.patience) {
      stop(ctx, fmt::format("{} did not improve by more than {} for {} epochs (best {:.6g} after epoch {})",
                            config.monitor, config.min_delta, wait_, best_, best_epoch_));
    }
  }

  void save_state(torch::serialize::OutputArchive& archive) const {
    archive.write("best", c10::IValue(best_));
    archive.write("best_epoch", c10::IValue(best_epoch_));
    archive.write("wait", c10::IValue(wait_));
  }

  void load_state(torch::serialize::InputArchive& archive) {
    c10::IValue v;
    archive.read("best", v);
    best_ = v.toDouble();
    archive.read("best_epoch", v);
    best_epoch_ = v.toInt();
    archive.read("wait", v);
    wait_ = v.toInt();
  }

  [[nodiscard]] double best() const { return best_; }
  [[nodiscard]] std::int64_t wait() const { return wait_; }

 private:
  static void stop(context& ctx, const std::string& reason) {
    *ctx.log << "early stopping: " << reason << "\n";
    ctx.request_stop("early stopping: " + reason);
  }

  double best_ = worst_value(C.mode);
  std::int64_t best_epoch_ = 0;
  std::int64_t wait_ = 0;
};

}  // namespace mixtrain::policy
