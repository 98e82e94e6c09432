#pragma once
// Automatic mixed precision: forward passes run under autocast in bfloat16 or
// float16 while weights, gradients and the optimizer stay float32.
// float16's narrow range needs dynamic loss scaling, with torch.amp.GradScaler
// semantics: the loss is multiplied by `scale`; at the end of an accumulation
// window the gradients are unscaled (unscale_gradients, before any
// before_optimizer_step, so clipping sees true gradients) and checked; a
// window with an inf/NaN gradient skips its optimizer step (no LR-schedule or
// EMA advance) and halves the scale; `growth_interval` clean steps double it.
// bfloat16 has float32's range and needs no scaling: amp<bf16> implements no
// scaling events at all.
#include <concepts>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/compat.hpp>
#include <mixtrain/core/context.hpp>
#include <mixtrain/core/recipe.hpp>

namespace mixtrain {

// Precision tags for mt::policy::amp<...>.
struct bf16 {
  static constexpr std::string_view name = "bf16";
  static constexpr torch::ScalarType dtype = torch::kBFloat16;
};
struct fp16 {
  static constexpr std::string_view name = "fp16";
  static constexpr torch::ScalarType dtype = torch::kHalf;
};

namespace policy {

struct amp_config {
  bool enabled = true;
  // Loss scaling (fp16 only); GradScaler's defaults.
  double init_scale = 65536.0;
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int growth_interval = 2000;
};

template <class Precision, amp_config C = amp_config{}>
struct amp {
  static_assert(std::same_as<Precision, bf16> || std::same_as<Precision, fp16>,
                "mt::policy::amp takes a precision tag: amp<mt::bf16> or amp<mt::fp16>.");
  static_assert(C.init_scale > 0, "amp: init_scale must be positive.");
  static_assert(C.growth_factor > 1, "amp: growth_factor must be greater than 1.");
  static_assert(C.backoff_factor > 0 && C.backoff_factor < 1, "amp: backoff_factor must be between 0 and 1.");
  static_assert(C.growth_interval >= 1, "amp: growth_interval must be at least 1.");

  static constexpr policy_kind kind = policy_kind::amp;
  static constexpr std::string_view name = "amp";
  static constexpr bool scales_loss = std::same_as<Precision, fp16>;
  using precision = Precision;

  amp_config config = C;

  // --mixed_precision alone keeps the compiled precision on; "no" turns it off.
  // The dtype is structure: asking for the other one is an error.
  void add_flags(CLI::App& cli) {
    cli.add_flag("--mixed_precision{" + std::string(Precision::name) + "}", flag_value_,
                 "autocast precision: " + std::string(Precision::name) + " (compiled in) or 'no'")
        ->check([](const std::string& v) -> std::string {
          if (v == Precision::name || v == "no" || v == "true" || v == "false") return "";
          if (v == bf16::name || v == fp16::name)
            return "this recipe is compiled with mt::policy::amp<mt::" + std::string(Precision::name) + ">; " + v +
                   " needs mt::policy::amp<mt::" + v + "> in the recipe";
          return "must be " + std::string(Precision::name) + " or 'no', got '" + v + "'";
        })
        ->each([this](const std::string& v) { config.enabled = v != "no" && v != "false"; });
  }

  [[nodiscard]] nlohmann::json describe() const {
    nlohmann::json j = {{"precision", Precision::name}, {"enabled", config.enabled}};
    if constexpr (scales_loss)
      j["loss_scaling"] = {{"init_scale", config.init_scale},
                           {"growth_factor", config.growth_factor},
                           {"backoff_factor", config.backoff_factor},
                           {"growth_interval", config.growth_interval}};
    return j;
  }

  // Nothing where autocast cannot run this dtype (fp16 on CPU before LibTorch
  // 2.4): the step then runs in float32, still with loss scaling.
  [[nodiscard]] std::optional<compat::autocast_scope> forward_scope(context& ctx) const {
    if (!config.enabled || !compat::autocast_supports(ctx.device.type(), Precision::dtype)) return std::nullopt;
    return std::optional<compat::autocast_scope>(std::in_place, ctx.device.type(), Precision::dtype);
  }

  // --- loss scaling: fp16 only -------------------------------------------------
  void on_fit_begin(context& ctx)
    requires scales_loss
  {
    if (config.enabled && !compat::autocast_supports(ctx.device.type(), Precision::dtype))
      *ctx.log << "note: this LibTorch has no float16 autocast on " << ctx.device.str()
               << "; amp<fp16> runs the forward pass in float32 (loss scaling stays on)\n";
  }

  void scale_loss(context&, torch::Tensor& loss)
    requires scales_loss
  {
    if (config.enabled) loss = loss * scale_;
  }

  void unscale_gradients(context& ctx)
    requires scales_loss
  {
    found_inf_ = false;
    if (!config.enabled) return;
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> finite;
    for (auto& p : ctx.model.parameters()) {
      auto& g = p.mutable_grad();
      if (!g.defined()) continue;
      g.mul_(1.0 / scale_);
      finite.push_back(torch::isfinite(g).all());
    }
    found_inf_ = !finite.empty() && !torch::stack(finite).all().template item<bool>();
  }

  [[nodiscard]] bool before_optimizer_step(context&)
    requires scales_loss
  {
    return !found_inf_;
  }

  void after_optimizer_step(context&)
    requires scales_loss
  {
    update_scale(false);
  }

  void after_skipped_step(context&)
    requires scales_loss
  {
    update_scale(found_inf_);
  }

  void save_state(torch::serialize::OutputArchive& archive) const
    requires scales_loss
  {
    archive.write("scale", c10::IValue(scale_));
    archive.write("growth_tracker", c10::IValue(growth_tracker_));
    archive.write("skipped_steps", c10::IValue(skipped_steps_));
  }

  void load_state(torch::serialize::InputArchive& archive)
    requires scales_loss
  {
    c10::IValue v;
    archive.read("scale", v);
    scale_ = v.toDouble();
    archive.read("growth_tracker", v);
    growth_tracker_ = v.toInt();
    archive.read("skipped_steps", v);
    skipped_steps_ = v.toInt();
  }

  [[nodiscard]] double scale() const { return scale_; }
  [[nodiscard]] std::int64_t growth_tracker() const { return growth_tracker_; }
  [[nodiscard]] std::int64_t skipped_steps() const { return skipped_steps_; }
  [[nodiscard]] bool found_inf() const { return found_inf_; }

 private:
  void update_scale(bool overflow) {
    if (!config.enabled) return;
    if (overflow) {
      scale_ *= config.backoff_factor;
      growth_tracker_ = 0;
      ++skipped_steps_;
    } else if (++growth_tracker_ >= config.growth_interval) {
      scale_ *= config.growth_factor;
      growth_tracker_ = 0;
    }
  }

  std::string flag_value_;
  double scale_ = C.init_scale;
  std::int64_t growth_tracker_ = 0;
  std::int64_t skipped_steps_ = 0;
  bool found_inf_ = false;
};

}  // namespace policy
}  // namespace mixtrain
