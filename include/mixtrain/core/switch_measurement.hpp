#pragma once
// `auto` for the switches whose worth depends on the machine: autocast
// (amp<bf16>) and channels-last. On a CPU, bf16 is fast only with native
// support (AVX-512 BF16, AMX) and channels-last helps or hurts by model and
// CPU, so a default fixed on one machine is a guess on another. The trainer
// times forward and backward of a copy of the recipe's own model, at a
// reduced size, for every combination the recipe leaves open, and keeps the
// fastest. The result is cached (core/machine_cache.hpp) under the machine,
// the recipe, the thread count, the device and the probe size, so only the
// first start pays (HRNet-W32 on an AVX2 CPU: ~15 s; later starts: none).
#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/machine_cache.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain {

struct switch_setting {
  bool autocast = false;
  bool channels_last = false;
  friend bool operator==(const switch_setting&, const switch_setting&) = default;
  friend std::ostream& operator<<(std::ostream& out, const switch_setting& s) {
    return out << "{autocast " << s.autocast << ", channels_last " << s.channels_last << "}";
  }
};

MIXTRAIN_COLD std::string describe_setting(const switch_setting& s, std::string_view precision);

// What the recipe leaves open: each policy with a measured switch says so
// (policy::amp, policy::channels_last); a switch not measured keeps `fixed`.
struct switch_probe {
  bool measure_autocast = false;
  bool measure_channels_last = false;
  switch_setting fixed;
  torch::ScalarType autocast_dtype = torch::kBFloat16;
  std::string precision = "bf16";

  [[nodiscard]] bool measures() const { return measure_autocast || measure_channels_last; }

  // Candidates, the plainest first (float32, NCHW): it wins ties.
  [[nodiscard]] std::vector<switch_setting> candidates() const {
    std::vector<switch_setting> out;
    for (const bool autocast : measure_autocast ? std::vector{false, true} : std::vector{fixed.autocast})
      for (const bool layout : measure_channels_last ? std::vector{false, true} : std::vector{fixed.channels_last})
        out.push_back({autocast, layout});
    return out;
  }
};

struct switch_timing {
  switch_setting setting;
  double seconds = 0;  // best timed pass; 0: not measured
};

// The fastest; a candidate must beat an earlier (plainer) one by 3 % to
// replace it, so noise does not flip a choice between near-equal settings.
// `fallback` when nothing was measured.
MIXTRAIN_COLD switch_setting choose_switches(const std::vector<switch_timing>& timings, switch_setting fallback);

// Seconds of the fastest timed forward+backward pass of `pass(setting)` (one
// warm-up first, which builds oneDNN's kernels). A candidate whose warm-up is
// already 3x the best so far cannot win: its warm-up time stands, and the
// other layout of that precision is not tried (a layout moves a step by tens
// of percent, not 3x; bf16 without native support costs 5-10x).
MIXTRAIN_COLD std::vector<switch_timing> time_switches(const switch_probe& probe,
                                                       const std::function<void(const switch_setting&)>& pass,
                                                       double budget_s);

// The choice cached under `key`, if any (a damaged entry counts as none).
MIXTRAIN_COLD std::optional<switch_setting> cached_switches(const nlohmann::json& key);

// The cached choice for this key, else measured (and cached). Logs one line
// to `log` either way, naming what was measured or that it came from the cache.
MIXTRAIN_COLD switch_setting measured_switches(const switch_probe& probe, const nlohmann::json& key,
                                               const std::function<void(const switch_setting&)>& pass, std::ostream& log,
                                               double budget_s = 60);

}  // namespace mixtrain

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/core/impl/switch_measurement.ipp>
#endif
