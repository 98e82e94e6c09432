#pragma once
// Gradient accumulation: the optimizer steps once per window of `steps`
// micro-batches. The trainer does the work (it reads config.steps): each
// micro-batch loss is divided by the window's length, windows restart every
// epoch, and the last window of an epoch may be shorter, with its own length
// as divisor, so every window's gradient is the mean over its micro-batches.
// LR schedules, EMA and global_step count windows, not micro-batches.
#include <string_view>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <mixtrain/core/recipe.hpp>
#include <mixtrain/policy/common.hpp>

namespace mixtrain::policy {

struct accumulate_config {
  int steps = 4;  // micro-batches per optimizer update
};

template <accumulate_config C = accumulate_config{}>
struct accumulate {
  static_assert(C.steps >= 1, "accumulate: steps must be at least 1.");
  static constexpr policy_kind kind = policy_kind::accumulate;
  static constexpr std::string_view name = "accumulate";

  accumulate_config config = C;

  void add_flags(CLI::App& cli) {
    cli.add_option("--gradient_accumulation_steps", config.steps, "micro-batches per optimizer update")
        ->check(at_least(1));
  }

  [[nodiscard]] nlohmann::json describe() const { return {{"steps", config.steps}}; }
};

}  // namespace mixtrain::policy
