#pragma once
// Channels-last (NHWC) memory layout: 4-D weights and buffers are converted
// before the optimizer is built (so optimizer state matches their layout),
// and every input batch is converted before the forward pass. oneDNN's
// convolutions then run without layout reorders, and LibTorch propagates the
// layout through convolution, normalisation, activation and interpolation, so
// activations stay NHWC through the model.
#include <string_view>
#include <tuple>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/fields.hpp>

namespace mixtrain::policy {

struct channels_last_config {
  bool enabled = true;

  static constexpr auto fields() {
    return std::tuple{field{&channels_last_config::enabled, "enabled",
                            flag{"--channels_last", "NHWC memory layout (--channels_last=false: off)"}}};
  }
};

struct channels_last {
  static constexpr std::string_view name = "channels_last";
  static constexpr std::string_view exclusive = "channels_last";
  using config_type = channels_last_config;

  config_type config{};

  void add_flags(CLI::App& cli) { add_field_flags(cli, config); }
  [[nodiscard]] nlohmann::json describe() const { return describe_fields(config); }

  void prepare_model(auto& holder) const {
    if (!config.enabled) return;
    auto& model = *holder;
    torch::NoGradGuard no_grad;
    // set_data keeps each tensor's identity, so references to it stay valid.
    for (auto& p : model.parameters())
      if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
    for (auto& b : model.buffers())
      if (b.dim() == 4) b.set_data(b.contiguous(torch::MemoryFormat::ChannelsLast));
  }

  void prepare_input(auto&, torch::Tensor& input) const {
    if (config.enabled && input.dim() == 4) input = input.contiguous(torch::MemoryFormat::ChannelsLast);
  }
};

}  // namespace mixtrain::policy
