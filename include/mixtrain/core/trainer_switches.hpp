#pragma once
// The trainer's side of `auto` switches (core/switch_measurement.hpp): ask the
// policies what they leave open, time a copy of the model for each
// combination, hand the choice back. Called by trainer::build after the model
// is on its device and before prepare_model, so a layout chosen here is the
// one the optimizer, EMA and checkpoints see.
#include <algorithm>
#include <iostream>
#include <optional>

#include <boost/hana.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/compat.hpp>
#include <mixtrain/core/machine_cache.hpp>
#include <mixtrain/core/memory_layout.hpp>
#include <mixtrain/core/switch_measurement.hpp>

namespace mixtrain::detail {

template <class Trainer>
void settle_measured_switches(Trainer& t, int in_channels) {
  switch_probe probe;
  const auto device = t.device();
  boost::hana::for_each(t.policies, [&](auto& p) {
    if constexpr (requires { p.offer_switches(probe, device); }) p.offer_switches(probe, device);
  });
  if (!probe.measures()) return;
  auto give_back = [&](const switch_setting& chosen) {
    boost::hana::for_each(t.policies, [&](auto& p) {
      if constexpr (requires { p.use_switches(chosen); }) p.use_switches(chosen);
    });
  };
  // A reduced size keeps the first start short (HRNet-W32 at 1024 px takes
  // ~20 s per step on a CPU); docs/benchmarks.md says how well 128 px predicts.
  int height = 128, width = 128;
  if constexpr (requires { t.data.config.image_size.height; }) {
    height = std::min(height, static_cast<int>(t.data.config.image_size.height));
    width = std::min(width, static_cast<int>(t.data.config.image_size.width));
  }
  const auto batch = std::clamp<std::int64_t>(t.run.fit.batch_size, 1, 2);
  auto key = machine_key(t.run.recipe_name);
  key["model"] = Trainer::model_spec::name;
  key["parameters"] = t.parameter_count();
  key["threads"] = torch::get_num_threads();
  key["device"] = device.str();
  key["probe"] = fmt::format("{}x{}x{}x{}", batch, in_channels, height, width);
  key["open"] = {{"autocast", probe.measure_autocast}, {"channels_last", probe.measure_channels_last}};
  key["fixed"] = {{"autocast", probe.fixed.autocast}, {"channels_last", probe.fixed.channels_last}};
  if constexpr (Trainer::synchronised) {
    // Ranks must agree, and timing them side by side would measure their
    // contention: a single-process run's cached choice, else the compiled one.
    switch_setting compiled = probe.fixed;
    compiled.autocast = compiled.autocast || probe.measure_autocast;
    compiled.channels_last = compiled.channels_last || probe.measure_channels_last;
    give_back(cached_switches(key).value_or(compiled));
    return;
  }
  // Building the copy draws random initial weights: the run's random stream
  // must not depend on whether anything was measured.
  auto generator = at::detail::getDefaultCPUGenerator();
  const auto random_state = generator.get_state();
  auto model = t.copy_model();
  generator.set_state(random_state);
  model->train();
  const auto input = torch::linspace(-1, 1, batch * in_channels * height * width, torch::TensorOptions(device))
                         .reshape({batch, static_cast<std::int64_t>(in_channels), static_cast<std::int64_t>(height),
                                   static_cast<std::int64_t>(width)});
  std::optional<bool> layout;  // converted in a candidate's warm-up pass, not its timed ones
  auto pass = [&](const switch_setting& s) {
    const auto format = s.channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
    if (layout != s.channels_last) set_memory_format(*model, format);
    layout = s.channels_last;
    torch::Tensor output;
    {
      std::optional<compat::autocast_scope> scope;
      if (s.autocast) scope.emplace(device.type(), probe.autocast_dtype);
      output = model->forward(input.contiguous(format));
    }
    output.to(torch::kFloat32).mean().backward();
    for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();
  };
  give_back(measured_switches(probe, key, pass, std::cerr));
}

}  // namespace mixtrain::detail
