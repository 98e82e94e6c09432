#pragma once
// Learning-rate schedules (policy kind lr_schedule: one per recipe). Each
// scales the optimizer's learning rates relative to their values when the
// model was built (--lr), so a resumed run recomputes the same rates.
//
// warmup_cosine: per optimizer update. For the update after `s` updates
// (s = ctx.global_step; skipped fp16 steps do not count), with
// W = round(warmup_epochs * updates_per_epoch) + warmup_steps and
// T = epochs * updates_per_epoch:
//   s < W:  lr = base * (s + 1) / W                         (linear warmup)
//   else:   lr = min_lr + (base - min_lr) * (1 + cos(pi * p)) / 2,
//           p = min(1, (s - W) / (T - W))                   (cosine to min_lr)
// step_decay: per epoch, lr = max(min_lr, base * gamma^floor(epoch / step_epochs)).
// reduce_on_plateau: torch.optim.lr_scheduler.ReduceLROnPlateau with
// threshold_mode 'rel': after each validation, no improvement beyond
// threshold for more than `patience` epochs multiplies the rate by `factor`
// (not below min_lr), then waits `cooldown` epochs.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/context.hpp>
#include <mixtrain/core/recipe.hpp>
#include <mixtrain/policy/common.hpp>

namespace mixtrain::policy {

namespace lr_detail {

inline double get_lr(torch::optim::OptimizerParamGroup& group) { return group.options().get_lr(); }

// The rates the optimizer was built with, one per parameter group.
inline std::vector<double> base_rates(torch::optim::Optimizer& optimizer) {
  std::vector<double> rates;
  for (auto& group : optimizer.param_groups()) rates.push_back(get_lr(group));
  return rates;
}

template <class Rate>
void set_rates(torch::optim::Optimizer& optimizer, const std::vector<double>& base, Rate rate) {
  auto& groups = optimizer.param_groups();
  for (std::size_t i = 0; i < groups.size() && i < base.size(); ++i) groups[i].options().set_lr(rate(base[i]));
}

}  // namespace lr_detail

// ---------------------------------------------------------------------------
struct warmup_cosine_config {
  double warmup_epochs = 0;
  int warmup_steps = 0;  // added to the warmup, in optimizer updates
  double min_lr = 1e-6;
};

// The rate of the update after `step` updates, as above.
inline double warmup_cosine_rate(const warmup_cosine_config& c, double base, std::int64_t step,
                                 std::int64_t updates_per_epoch, std::int64_t epochs) {
  const auto warmup = std::llround(c.warmup_epochs * static_cast<double>(updates_per_epoch)) + c.warmup_steps;
  const auto total = epochs * updates_per_epoch;
  if (step < warmup) return base * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const double progress =
      total > warmup ? std::min(1.0, static_cast<double>(step - warmup) / static_cast<double>(total - warmup)) : 1.0;
  return c.min_lr + (base - c.min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

template <warmup_cosine_config C = warmup_cosine_config{}>
struct warmup_cosine {
  static_assert(C.warmup_epochs >= 0, "warmup_cosine: warmup_epochs must not be negative.");
  static_assert(C.warmup_steps >= 0, "warmup_cosine: warmup_steps must not be negative.");
  static_assert(C.min_lr >= 0, "warmup_cosine: min_lr must not be negative.");
  static constexpr policy_kind kind = policy_kind::lr_schedule;
  static constexpr std::string_view name = "warmup_cosine";

  warmup_cosine_config config = C;

  void add_flags(CLI::App& cli) {
    cli.add_option("--warmup_epochs", config.warmup_epochs, "linear warmup length in epochs (fractions allowed)")
        ->check(at_least(0));
    cli.add_option("--warmup_steps", config.warmup_steps, "linear warmup length in optimizer updates, added")
        ->check(at_least(0));
    cli.add_option("--min_lr", config.min_lr, "learning rate at the end of the cosine")->check(at_least(0));
  }

  [[nodiscard]] nlohmann::json describe() const {
    return {{"warmup_epochs", config.warmup_epochs}, {"warmup_steps", config.warmup_steps}, {"min_lr", config.min_lr},
            {"per", "optimizer update"}};
  }

  void on_model_ready(context& ctx) { base_ = lr_detail::base_rates(ctx.optimizer); }
  void on_fit_begin(context& ctx) { apply(ctx); }
  void after_optimizer_step(context& ctx) { apply(ctx); }

  void apply(context& ctx) const {
    lr_detail::set_rates(ctx.optimizer, base_, [&](double base) {
      return warmup_cosine_rate(config, base, ctx.global_step, ctx.updates_per_epoch, ctx.epochs);
    });
  }

 private:
  std::vector<double> base_;
};

// ---------------------------------------------------------------------------
struct step_decay_config {
  int step_epochs = 30;
  double gamma = 0.1;
  double min_lr = 0;
};

template <step_decay_config C = step_decay_config{}>
struct step_decay {
  static_assert(C.step_epochs >= 1, "step_decay: step_epochs must be at least 1.");
  static_assert(C.gamma > 0 && C.gamma <= 1, "step_decay: gamma must be in (0, 1].");
  static_assert(C.min_lr >= 0, "step_decay: min_lr must not be negative.");
  static constexpr policy_kind kind = policy_kind::lr_schedule;
  static constexpr std::string_view name = "step_decay";

  step_decay_config config = C;

  void add_flags(CLI::App& cli) {
    cli.add_option("--decay_epochs", config.step_epochs, "epochs between learning-rate decays")->check(at_least(1));
    cli.add_option("--decay_rate", config.gamma, "learning-rate factor at each decay")->check(CLI::Range(0.0, 1.0));
    cli.add_option("--min_lr", config.min_lr, "lower bound of the learning rate")->check(at_least(0));
  }

  [[nodiscard]] nlohmann::json describe() const {
    return {{"step_epochs", config.step_epochs}, {"gamma", config.gamma}, {"min_lr", config.min_lr}, {"per", "epoch"}};
  }

  void on_model_ready(context& ctx) { base_ = lr_detail::base_rates(ctx.optimizer); }

  void on_epoch_begin(context& ctx) const {
    const double factor = std::pow(config.gamma, static_cast<double>(ctx.epoch / config.step_epochs));
    lr_detail::set_rates(ctx.optimizer, base_, [&](double base) { return std::max(config.min_lr, base * factor); });
  }

 private:
  std::vector<double> base_;
};

// ---------------------------------------------------------------------------
struct reduce_on_plateau_config {
  double factor = 0.1;
  int patience = 10;
  double threshold = 1e-4;  // relative
  int cooldown = 0;
  double min_lr = 0;
  char monitor[metric_name_size] = "val_mre";
  metric_mode mode = metric_mode::min;
};

template <reduce_on_plateau_config C = reduce_on_plateau_config{}>
struct reduce_on_plateau {
  static_assert(C.factor > 0 && C.factor < 1, "reduce_on_plateau: factor must be between 0 and 1.");
  static_assert(C.patience >= 0, "reduce_on_plateau: patience must not be negative.");
  static_assert(C.threshold >= 0, "reduce_on_plateau: threshold must not be negative.");
  static_assert(C.cooldown >= 0, "reduce_on_plateau: cooldown must not be negative.");
  static_assert(C.min_lr >= 0, "reduce_on_plateau: min_lr must not be negative.");
  static_assert(valid_metric_name(C.monitor), "reduce_on_plateau: monitor must name a metric, such as \"val_mre\".");
  static constexpr policy_kind kind = policy_kind::lr_schedule;
  static constexpr std::string_view name = "reduce_on_plateau";

  reduce_on_plateau_config config = C;

  void add_flags(CLI::App& cli) {
    cli.add_option("--lr_patience", config.patience, "epochs without improvement before reducing the learning rate")
        ->check(at_least(0));
    cli.add_option("--lr_factor", config.factor, "learning-rate factor at each reduction")->check(CLI::Range(0.0, 1.0));
    cli.add_option("--min_lr", config.min_lr, "lower bound of the learning rate")->check(at_least(0));
  }

  [[nodiscard]] nlohmann::json describe() const {
    return {{"monitor", config.monitor},     {"mode", mode_name(config.mode)}, {"factor", config.factor},
            {"patience", config.patience},   {"threshold", config.threshold},  {"cooldown", config.cooldown},
            {"min_lr", config.min_lr},       {"per", "validation"}};
  }

  void on_model_ready(context& ctx) { base_ = lr_detail::base_rates(ctx.optimizer); }
  void on_fit_begin(context& ctx) const { apply(ctx); }

  void on_validation_end(context& ctx) {
    const double value = monitored_value(ctx, config.monitor, "reduce_on_plateau");
    if (better(value)) {
      best_ = value;
      bad_epochs_ = 0;
    } else {
      ++bad_epochs_;
    }
    if (cooldown_counter_ > 0) {
      --cooldown_counter_;
      bad_epochs_ = 0;
    }
    if (bad_epochs_ > config.patience) {
      ++reductions_;
      apply(ctx);
      *ctx.log << fmt::format("reduce_on_plateau: {} has not improved for {} epochs; learning rate x{}\n", config.monitor,
                              bad_epochs_, config.factor);
      cooldown_counter_ = config.cooldown;
      bad_epochs_ = 0;
    }
  }

  void save_state(torch::serialize::OutputArchive& archive) const {
    archive.write("best", c10::IValue(best_));
    archive.write("bad_epochs", c10::IValue(bad_epochs_));
    archive.write("cooldown_counter", c10::IValue(cooldown_counter_));
    archive.write("reductions", c10::IValue(reductions_));
  }

  void load_state(torch::serialize::InputArchive& archive) {
    c10::IValue v;
    archive.read("best", v);
    best_ = v.toDouble();
    archive.read("bad_epochs", v);
    bad_epochs_ = v.toInt();
    archive.read("cooldown_counter", v);
    cooldown_counter_ = v.toInt();
    archive.read("reductions", v);
    reductions_ = v.toInt();
  }

  [[nodiscard]] std::int64_t reductions() const { return reductions_; }

 private:
  [[nodiscard]] bool better(double value) const {
    if (!std::isfinite(best_)) return std::isfinite(value);  // the first value always counts
    return config.mode == metric_mode::min ? value < best_ * (1.0 - config.threshold)
                                           : value > best_ * (1.0 + config.threshold);
  }

  // Each reduction multiplies by factor; min_lr is a floor (as in torch).
  void apply(context& ctx) const {
    const double scale = std::pow(config.factor, static_cast<double>(reductions_));
    lr_detail::set_rates(ctx.optimizer, base_, [&](double base) { return std::max(config.min_lr, base * scale); });
  }

  std::vector<double> base_;
  double best_ = worst_value(C.mode);
  std::int64_t bad_epochs_ = 0;
  std::int64_t cooldown_counter_ = 0;
  std::int64_t reductions_ = 0;
};

}  // namespace mixtrain::policy
