#pragma once
// Channels-last (NHWC) memory layout: 4-D weights and buffers are converted
// before the optimizer is built (so optimizer state matches their layout),
// and every input batch is converted before the forward pass. oneDNN's
// convolutions then run without layout reorders, and LibTorch propagates the
// layout through convolution, normalisation, activation and interpolation, so
// activations stay NHWC through the model.
// Whether NHWC is faster depends on the model and the CPU, so on a CPU the
// layout is left to the trainer's start-up measurement of the recipe's own
// model (core/switch_measurement.hpp, cached per machine), unless
// --channels_last=force or measure_on_cpu = false; on a GPU it is on.
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/fields.hpp>
#include <mixtrain/core/flag_set.hpp>
#include <mixtrain/core/memory_layout.hpp>
#include <mixtrain/core/switch_measurement.hpp>

namespace mixtrain::policy {

struct channels_last_config {
  bool enabled = true;
  bool measure_on_cpu = true;  // keep NHWC only where it measures faster

  static constexpr auto fields() {
    using c = channels_last_config;
    return std::tuple{field{&c::enabled, "enabled",
                            flag{"--channels_last", "NHWC memory layout: on where measured faster (alone or =true), "
                                                    "=force, or =false"}},
                      field{&c::measure_on_cpu, "measure_on_cpu"}};
  }
};

// mt::policy::channels_last (measured on CPU), or
// mt::policy::channels_last_layout<{.measure_on_cpu = false}> (always NHWC).
template <channels_last_config C = channels_last_config{}>
struct channels_last_layout {
  static constexpr std::string_view name = "channels_last";
  static constexpr std::string_view exclusive = "channels_last";
  using config_type = channels_last_config;

  config_type config = C;

  void add_flags(flag_set cli) {
    cli.add_flag("--channels_last{true}", flag_value_,
                 "NHWC memory layout: on where measured faster (alone or =true), =force, or =false")
        .check(one_of({"true", "false", "force", "on", "off", "auto"}))
        .each([this](const std::string& v) {
          config.enabled = v != "false" && v != "off";
          if (v == "force") config.measure_on_cpu = false;
        });
  }

  [[nodiscard]] nlohmann::json describe() const {
    auto j = describe_fields(config);
    if (measured_) j["in_use"] = in_use();
    return j;
  }

  void prepare_model(auto& holder) const {
    if (in_use()) set_memory_format(*holder, torch::MemoryFormat::ChannelsLast);
  }

  void prepare_input(auto&, torch::Tensor& input) const {
    if (in_use() && input.dim() == 4) input = input.contiguous(torch::MemoryFormat::ChannelsLast);
  }

  // What the start-up measurement leaves open (core/switch_measurement.hpp).
  void offer_switches(switch_probe& probe, torch::Device device) const {
    if (!config.enabled) return;
    if (config.measure_on_cpu && device.is_cpu()) probe.measure_channels_last = true;
    else probe.fixed.channels_last = true;
  }
  void use_switches(const switch_setting& chosen) { measured_ = chosen.channels_last; }

  // On, and not measured slower.
  [[nodiscard]] bool in_use() const { return config.enabled && measured_.value_or(true); }

 private:
  std::string flag_value_;
  std::optional<bool> measured_;  // set by the start-up measurement
};

using channels_last = channels_last_layout<>;

}  // namespace mixtrain::policy
