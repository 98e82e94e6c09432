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
// scaling events at all. On a CPU, bf16 is fast only with native support
// (AVX-512 BF16, AMX); elsewhere LibTorch falls back to a slow convolution
// (HRNet-W32 at 1024 px: minutes per micro-batch instead of ~20 s). So on CPU
// amp<bf16> leaves autocast to the trainer's start-up measurement of the
// recipe's own model (core/switch_measurement.hpp, cached per machine), which
// keeps it only where it is faster; --mixed_precision=force keeps bf16.
#include <concepts>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/compat.hpp>
#include <mixtrain/core/fields.hpp>
#include <mixtrain/core/flag_set.hpp>
#include <mixtrain/core/switch_measurement.hpp>

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
  bool measure_on_cpu = true;  // bf16 on CPU: keep it only where it is measured faster
  // Loss scaling (fp16 only); GradScaler's defaults.
  double init_scale = 65536.0;
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int growth_interval = 2000;

  // --mixed_precision is amp's own flag (it takes the precision name).
  static constexpr auto fields() {
    using c = amp_config;
    return std::tuple{field{&c::enabled, "enabled"}, field{&c::measure_on_cpu, "measure_on_cpu"},
                      field{&c::init_scale, "init_scale"},
                      field{&c::growth_factor, "growth_factor"}, field{&c::backoff_factor, "backoff_factor"},
                      field{&c::growth_interval, "growth_interval"}};
  }
};

// The loss scaler's state (fp16), saved with checkpoints.
struct loss_scale_state {
  double scale = 65536.0;
  std::int64_t growth_tracker = 0;
  std::int64_t skipped_steps = 0;

  static constexpr auto fields() {
    return std::tuple{field{&loss_scale_state::scale, "scale"}, field{&loss_scale_state::growth_tracker, "growth_tracker"},
                      field{&loss_scale_state::skipped_steps, "skipped_steps"}};
  }
};

// Autocast alone (what amp<bf16> is); amp<fp16> adds loss scaling below.
template <class Precision, amp_config C>
struct amp_autocast {
  static_assert(std::same_as<Precision, bf16> || std::same_as<Precision, fp16>,
                "mt::policy::amp takes a precision tag: amp<mt::bf16> or amp<mt::fp16>.");
  static_assert(C.init_scale > 0, "amp: init_scale must be positive.");
  static_assert(C.growth_factor > 1, "amp: growth_factor must be greater than 1.");
  static_assert(C.backoff_factor > 0 && C.backoff_factor < 1, "amp: backoff_factor must be between 0 and 1.");
  static_assert(C.growth_interval >= 1, "amp: growth_interval must be at least 1.");

  static constexpr std::string_view name = "amp";
  static constexpr std::string_view exclusive = "amp";
  using config_type = amp_config;
  static constexpr bool scales_loss = std::same_as<Precision, fp16>;
  using precision = Precision;

  config_type config = C;

  // --mixed_precision alone keeps the compiled precision on; "no" turns it off.
  // The dtype is structure: asking for the other one is an error.
  void add_flags(flag_set cli) {
    cli.add_flag("--mixed_precision{" + std::string(Precision::name) + "}", flag_value_,
                 "autocast precision: " + std::string(Precision::name) + " (compiled in) or 'no'")
        .check([](const std::string& v) -> std::string {
          if (v == Precision::name || v == "no" || v == "true" || v == "false" || v == "force") return "";
          if (v == bf16::name || v == fp16::name)
            return "this recipe is compiled with mt::policy::amp<mt::" + std::string(Precision::name) + ">; " + v +
                   " needs mt::policy::amp<mt::" + v + "> in the recipe";
          return "must be " + std::string(Precision::name) + ", 'force' or 'no', got '" + v + "'";
        })
        .each([this](const std::string& v) {
          config.enabled = v != "no" && v != "false";
          if (v == "force") config.measure_on_cpu = false;
        });
  }

  [[nodiscard]] nlohmann::json describe() const {
    auto j = describe_fields(config);
    j["precision"] = Precision::name;
    if constexpr (!scales_loss)
      for (const auto* key : {"init_scale", "growth_factor", "backoff_factor", "growth_interval"}) j.erase(key);
    if (measured_faster_) j["in_use"] = *measured_faster_ && config.enabled;
    return j;
  }

  // Nothing where autocast cannot run this dtype (fp16 on CPU before LibTorch
  // 2.4): the step then runs in float32, still with loss scaling.
  [[nodiscard]] std::optional<compat::autocast_scope> forward_scope(auto& ctx) const {
    if (!config.enabled || !compat::autocast_supports(ctx.device.type(), Precision::dtype)) return std::nullopt;
    if (measured_faster_ == false) return std::nullopt;
    return std::optional<compat::autocast_scope>(std::in_place, ctx.device.type(), Precision::dtype);
  }

  // What the start-up measurement leaves open (core/switch_measurement.hpp):
  // bf16 autocast on a CPU, unless forced; elsewhere autocast is fixed on.
  void offer_switches(switch_probe& probe, torch::Device device) const {
    if (!config.enabled || !compat::autocast_supports(device.type(), Precision::dtype)) return;
    probe.autocast_dtype = Precision::dtype;
    probe.precision = Precision::name;
    if (config.measure_on_cpu && device.is_cpu() && Precision::dtype == torch::kBFloat16) probe.measure_autocast = true;
    else probe.fixed.autocast = true;
  }
  void use_switches(const switch_setting& chosen) { measured_faster_ = chosen.autocast; }
  // Autocast in use after the measurement; nullopt before it.
  [[nodiscard]] std::optional<bool> measured_in_use() const { return measured_faster_; }

 protected:
  std::string flag_value_;
  std::optional<bool> measured_faster_;  // set by the start-up measurement
};

// bfloat16 has float32's range: no loss scaling, no scaling hooks at all.
template <class Precision, amp_config C = amp_config{}>
struct amp : amp_autocast<Precision, C> {};

template <amp_config C>
struct amp<fp16, C> : amp_autocast<fp16, C> {
  using amp_autocast<fp16, C>::config;

  void on_fit_begin(auto& ctx) {
    if (config.enabled && !compat::autocast_supports(ctx.device.type(), fp16::dtype))
      *ctx.log << "note: this LibTorch has no float16 autocast on " << ctx.device.str()
               << "; amp<fp16> runs the forward pass in float32 (loss scaling stays on)\n";
  }

  void scale_loss(auto&, torch::Tensor& loss) {
    if (config.enabled) loss = loss * state_.scale;
  }

  void unscale_gradients(auto& ctx) {
    found_inf_ = false;
    if (!config.enabled) return;
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> finite;
    for (const auto& p : ctx.parameters()) {
      auto& g = p.mutable_grad();
      if (!g.defined()) continue;
      g.mul_(1.0 / state_.scale);
      finite.push_back(torch::isfinite(g).all());
    }
    found_inf_ = !finite.empty() && !torch::stack(finite).all().template item<bool>();
  }

  [[nodiscard]] bool before_optimizer_step(auto&) {
    return !found_inf_;
  }

  void after_optimizer_step(auto&) {
    update_scale(false);
  }

  void after_skipped_step(auto&) {
    update_scale(found_inf_);
  }

  void save_state(torch::serialize::OutputArchive& archive) const {
    save_fields(archive, state_);
  }

  void load_state(torch::serialize::InputArchive& archive) {
    load_fields(archive, state_);
  }

  [[nodiscard]] double scale() const { return state_.scale; }
  [[nodiscard]] std::int64_t growth_tracker() const { return state_.growth_tracker; }
  [[nodiscard]] std::int64_t skipped_steps() const { return state_.skipped_steps; }
  [[nodiscard]] bool found_inf() const { return found_inf_; }

 private:
  void update_scale(bool overflow) {
    if (!config.enabled) return;
    if (overflow) {
      state_.scale *= config.backoff_factor;
      state_.growth_tracker = 0;
      ++state_.skipped_steps;
    } else if (++state_.growth_tracker >= config.growth_interval) {
      state_.scale *= config.growth_factor;
      state_.growth_tracker = 0;
    }
  }

  loss_scale_state state_{C.init_scale, 0, 0};
  bool found_inf_ = false;
};

}  // namespace policy
}  // namespace mixtrain
