#pragma once
// Exponential moving average of the weights (timm ModelEmaV3 semantics).
// A shadow model, a deep copy of the model (same module type), follows the
// trained weights once per optimizer step:
//   shadow = decay_t * shadow + (1 - decay_t) * model
// for parameters and floating-point buffers (BatchNorm statistics); integer
// buffers (num_batches_tracked) are copied. With warmup, for update number
// `step` (1-based, = ctx.global_step after the step):
//   t = max(0, step - update_after_step - 1),  decay_t = 0 when t == 0, else
//   decay_t = clamp(1 - (1 + t / warmup_gamma)^-warmup_power, min_decay, decay)
// so early updates follow the model closely (timm's defaults gamma 1, power 2/3:
// 0.99 after ~1000 updates, 0.999 after ~31600). Without warmup decay_t = decay.
// Validation, the best-checkpoint choice and early stopping see the shadow
// (evaluation_model); checkpoints carry it beside the raw weights. The shadow
// is the recipe's own module type: `ema<C>` binds to the recipe's context
// (ema<C>::bind<Context> = ema_of<C, Context::module_type>), so evaluation
// calls its forward directly, without casts.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <tuple>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/fields.hpp>
#include <mixtrain/core/flag_set.hpp>

namespace mixtrain::policy {

struct ema_config {
  double decay = 0.9998;  // the ceiling of decay_t
  bool warmup = true;
  double warmup_gamma = 1.0;
  double warmup_power = 2.0 / 3.0;
  double min_decay = 0.0;
  int update_after_step = 0;
  bool enabled = true;

  static constexpr auto fields() {
    using c = ema_config;
    return std::tuple{
        field{&c::enabled, "enabled", flag{"--use_ema", "keep an EMA of the weights and validate with it (--use_ema=false: off)"}},
        field{&c::decay, "decay", flag{"--ema_decay", "EMA decay (the ceiling when warming up)", 0, 1}},
        field{&c::warmup, "warmup"},
        field{&c::warmup_gamma, "warmup_gamma"},
        field{&c::warmup_power, "warmup_power"},
        field{&c::min_decay, "min_decay"},
        field{&c::update_after_step, "update_after_step"}};
  }
};

// decay_t for update number `step` (1-based), as above.
inline double ema_decay_at(const ema_config& c, std::int64_t step) {
  const auto t = std::max<std::int64_t>(0, step - c.update_after_step - 1);
  if (t <= 0) return 0.0;
  if (!c.warmup) return c.decay;
  const double d = 1.0 - std::pow(1.0 + static_cast<double>(t) / c.warmup_gamma, -c.warmup_power);
  return std::max(std::min(d, c.decay), c.min_decay);
}

template <ema_config C, class Module>
struct ema_of;

template <ema_config C = ema_config{}>
struct ema {
  static_assert(C.decay > 0 && C.decay < 1, "ema: decay must be between 0 and 1.");
  static_assert(C.min_decay >= 0 && C.min_decay <= C.decay, "ema: min_decay must be between 0 and decay.");
  static_assert(C.warmup_gamma > 0, "ema: warmup_gamma must be positive.");
  static_assert(C.warmup_power > 0, "ema: warmup_power must be positive.");
  static_assert(C.update_after_step >= 0, "ema: update_after_step must not be negative.");
  static constexpr std::string_view name = "ema";
  static constexpr std::string_view exclusive = "ema";
  using config_type = ema_config;
  template <class Context>
  using bind = ema_of<C, typename Context::module_type>;

  config_type config = C;
};

template <ema_config C, class Module>
struct ema_of : ema<C> {
  using ema<C>::config;

  void add_flags(flag_set cli) { add_field_flags(cli, config); }
  [[nodiscard]] nlohmann::json describe() const { return describe_fields(config); }

  // After prepare_model, so the copy has the model's final layout.
  void on_model_ready(auto& ctx) {
    if (!config.enabled) return;
    shadow_.emplace(ctx.copy_model());
    for (auto& p : (*shadow_)->parameters()) p.set_requires_grad(false);
    (*shadow_)->eval();
    pairs_.clear();
    synced_ = false;
  }

  // A new run starts the shadow from the model's initial weights (after any
  // --init_from); a resumed one keeps the shadow from its checkpoint.
  void on_fit_begin(auto& ctx) {
    if (shadow_ && !synced_) update(ctx.model, 0.0);
  }

  void after_optimizer_step(auto& ctx) {
    if (shadow_) update(ctx.model, ema_decay_at(config, ctx.global_step));
  }

  [[nodiscard]] Module* evaluation_model(auto&) { return synced_ ? &*shadow_ : nullptr; }

  void save_state(torch::serialize::OutputArchive& archive) const {
    if (!shadow_ || !synced_) return;
    torch::serialize::OutputArchive shadow_archive;
    (*shadow_)->save(shadow_archive);
    archive.write("shadow", shadow_archive);
  }

  void load_state(torch::serialize::InputArchive& archive) {
    torch::serialize::InputArchive shadow_archive;
    if (!shadow_ || !archive.try_read("shadow", shadow_archive)) return;
    (*shadow_)->load(shadow_archive);
    synced_ = true;
  }

  // shadow = decay * shadow + (1 - decay) * model; integer buffers copied.
  void update(Module& model, double decay) {
    torch::NoGradGuard no_grad;
    if (pairs_.empty()) pair_tensors(model);
    for (auto& [shadow, source] : pairs_) {
      if (!shadow.is_floating_point()) shadow.copy_(source);
      else shadow.lerp_(source, 1.0 - decay);  // exact copy at decay 0
    }
    synced_ = true;
  }

  [[nodiscard]] const std::optional<Module>& shadow() const { return shadow_; }

 private:
  // The shadow has the model's type, so both list tensors in the same order.
  // Loading a checkpoint updates tensors in place, so the pairs stay valid.
  void pair_tensors(Module& model) {
    auto mine = (*shadow_)->parameters(), theirs = model->parameters();
    auto mine_buffers = (*shadow_)->buffers(), their_buffers = model->buffers();
    TORCH_CHECK(mine.size() == theirs.size() && mine_buffers.size() == their_buffers.size(),
                "ema: the shadow model does not mirror the model");
    for (std::size_t i = 0; i < mine.size(); ++i) pairs_.emplace_back(mine[i], theirs[i]);
    for (std::size_t i = 0; i < mine_buffers.size(); ++i) pairs_.emplace_back(mine_buffers[i], their_buffers[i]);
  }

  std::optional<Module> shadow_;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> pairs_;
  bool synced_ = false;
};

}  // namespace mixtrain::policy
