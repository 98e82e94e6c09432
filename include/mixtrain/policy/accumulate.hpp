#pragma once
// Gradient accumulation: the optimizer steps once per window of `steps`
// micro-batches. The policy answers the accumulation_steps() hook; the loop
// does the rest: windows restart every epoch, the last one may be shorter,
// and each window's gradient is normalised by the landmarks present in the
// whole window, so it equals the gradient of one large batch. LR schedules,
// EMA and global_step count windows, not micro-batches.
#include <cstdint>
#include <string_view>
#include <tuple>

#include <nlohmann/json.hpp>

#include <mixtrain/core/fields.hpp>
#include <mixtrain/core/flag_set.hpp>

namespace mixtrain::policy {

struct accumulate_config {
  int steps = 4;  // micro-batches per optimizer update

  static constexpr auto fields() {
    return std::tuple{field{&accumulate_config::steps, "steps",
                            flag{"--gradient_accumulation_steps", "micro-batches per optimizer update", 1}}};
  }
};

template <accumulate_config C = accumulate_config{}>
struct accumulate {
  static_assert(C.steps >= 1, "accumulate: steps must be at least 1.");
  static constexpr std::string_view name = "accumulate";
  static constexpr std::string_view exclusive = "accumulate";
  using config_type = accumulate_config;

  config_type config = C;

  void add_flags(flag_set cli) { add_field_flags(cli, config); }
  [[nodiscard]] nlohmann::json describe() const { return describe_fields(config); }
  [[nodiscard]] std::int64_t accumulation_steps() const { return config.steps; }
};

}  // namespace mixtrain::policy
