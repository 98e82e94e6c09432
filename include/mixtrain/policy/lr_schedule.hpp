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
#include <tuple>
#include <string_view>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/fields.hpp>
#include <mixtrain/core/flag_set.hpp>
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

  static constexpr auto fields() {
    using c = warmup_cosine_config;
    return std::tuple{
        field{&c::warmup_epochs, "warmup_epochs", flag{"--warmup_epochs", "linear warmup length in epochs (fractions allowed)", 0}},
        field{&c::warmup_steps, "warmup_steps", flag{"--warmup_steps", "linear warmup length in optimizer updates, added", 0}},
        field{&c::min_lr, "min_lr", flag{"--min_lr", "learning rate at the end of the cosine", 0}}};
  }
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
  static constexpr std::string_view name = "warmup_cosine";
  static constexpr std::string_view exclusive = "lr_schedule";
  using config_type = warmup_cosine_config;

  config_type config = C;

  void add_flags(flag_set cli) { add_field_flags(cli, config); }
  [[nodiscard]] nlohmann::json describe() const {
    auto j = describe_fields(config);
    j["per"] = "optimizer update";
    return j;
  }

  void on_model_ready(auto& ctx) { base_ = lr_detail::base_rates(ctx.optimizer); }
  void on_fit_begin(auto& ctx) { apply(ctx); }
  void after_optimizer_step(auto& ctx) { apply(ctx); }

  void apply(auto& ctx) const {
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

  static constexpr auto fields() {
    using c = step_decay_config;
    return std::tuple{field{&c::step_epochs, "step_epochs", flag{"--decay_epochs", "epochs between learning-rate decays", 1}},
                      field{&c::gamma, "gamma", flag{"--decay_rate", "learning-rate factor at each decay", 0, 1}},
                      field{&c::min_lr, "min_lr", flag{"--min_lr", "lower bound of the learning rate", 0}}};
  }
};

template <step_decay_config C = step_decay_config{}>
struct step_decay {
  static_assert(C.step_epochs >= 1, "step_decay: step_epochs must be at least 1.");
  static_assert(C.gamma > 0 && C.gamma <= 1, "step_decay: gamma must be in (0, 1].");
  static_assert(C.min_lr >= 0, "step_decay: min_lr must not be negative.");
  static constexpr std::string_view name = "step_decay";
  static constexpr std::string_view exclusive = "lr_schedule";
  using config_type = step_decay_config;

  config_type config = C;

  void add_flags(flag_set cli) { add_field_flags(cli, config); }
  [[nodiscard]] nlohmann::json describe() const {
    auto j = describe_fields(config);
    j["per"] = "epoch";
    return j;
  }

  void on_model_ready(auto& ctx) { base_ = lr_detail::base_rates(ctx.optimizer); }

  void on_epoch_begin(auto& ctx) const {
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

  static constexpr auto fields() {
    using c = reduce_on_plateau_config;
    return std::tuple{
        field{&c::monitor, "monitor"},
        field{&c::mode, "mode"},
        field{&c::factor, "factor", flag{"--lr_factor", "learning-rate factor at each reduction", 0, 1}},
        field{&c::patience, "patience", flag{"--lr_patience", "epochs without improvement before reducing the learning rate", 0}},
        field{&c::threshold, "threshold"},
        field{&c::cooldown, "cooldown"},
        field{&c::min_lr, "min_lr", flag{"--min_lr", "lower bound of the learning rate", 0}}};
  }
};

struct plateau_schedule_state {
  double best = 0;
  std::int64_t bad_epochs = 0;
  std::int64_t cooldown_counter = 0;
  std::int64_t reductions = 0;

  static constexpr auto fields() {
    using c = plateau_schedule_state;
    return std::tuple{field{&c::best, "best"}, field{&c::bad_epochs, "bad_epochs"},
                      field{&c::cooldown_counter, "cooldown_counter"}, field{&c::reductions, "reductions"}};
  }
};

template <reduce_on_plateau_config C = reduce_on_plateau_config{}>
struct reduce_on_plateau {
  static_assert(C.factor > 0 && C.factor < 1, "reduce_on_plateau: factor must be between 0 and 1.");
  static_assert(C.patience >= 0, "reduce_on_plateau: patience must not be negative.");
  static_assert(C.threshold >= 0, "reduce_on_plateau: threshold must not be negative.");
  static_assert(C.cooldown >= 0, "reduce_on_plateau: cooldown must not be negative.");
  static_assert(C.min_lr >= 0, "reduce_on_plateau: min_lr must not be negative.");
  static_assert(valid_metric_name(C.monitor), "reduce_on_plateau: monitor must name a metric, such as \"val_mre\".");
  static constexpr std::string_view name = "reduce_on_plateau";
  static constexpr std::string_view exclusive = "lr_schedule";
  static constexpr std::string_view monitor = C.monitor;
  using config_type = reduce_on_plateau_config;

  config_type config = C;

  void add_flags(flag_set cli) { add_field_flags(cli, config); }
  [[nodiscard]] nlohmann::json describe() const {
    auto j = describe_fields(config);
    j["per"] = "validation";
    return j;
  }

  void on_model_ready(auto& ctx) { base_ = lr_detail::base_rates(ctx.optimizer); }
  void on_fit_begin(auto& ctx) const { apply(ctx); }

  void on_validation_end(auto& ctx) {
    const double value = monitored_value<reduce_on_plateau>(ctx);
    auto& s = state_;
    if (better(value)) {
      s.best = value;
      s.bad_epochs = 0;
    } else {
      ++s.bad_epochs;
    }
    if (s.cooldown_counter > 0) {
      --s.cooldown_counter;
      s.bad_epochs = 0;
    }
    if (s.bad_epochs > config.patience) {
      ++s.reductions;
      apply(ctx);
      *ctx.log << fmt::format("reduce_on_plateau: {} has not improved for {} epochs; learning rate x{}\n", monitor,
                              s.bad_epochs, config.factor);
      s.cooldown_counter = config.cooldown;
      s.bad_epochs = 0;
    }
  }

  void save_state(torch::serialize::OutputArchive& archive) const { save_fields(archive, state_); }
  void load_state(torch::serialize::InputArchive& archive) { load_fields(archive, state_); }

  [[nodiscard]] std::int64_t reductions() const { return state_.reductions; }

 private:
  [[nodiscard]] bool better(double value) const {
    const double best = state_.best;
    if (!std::isfinite(best)) return std::isfinite(value);  // the first value always counts
    return config.mode == metric_mode::min ? value < best * (1.0 - config.threshold)
                                           : value > best * (1.0 + config.threshold);
  }

  // Each reduction multiplies by factor; min_lr is a floor (as in torch).
  void apply(auto& ctx) const {
    const double scale = std::pow(config.factor, static_cast<double>(state_.reductions));
    lr_detail::set_rates(ctx.optimizer, base_, [&](double base) { return std::max(config.min_lr, base * scale); });
  }

  std::vector<double> base_;
  plateau_schedule_state state_{worst_value(C.mode), 0, 0, 0};
};

}  // namespace mixtrain::policy
