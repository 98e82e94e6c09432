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

namespace mixtrain {

struct switch_setting {
  bool autocast = false;
  bool channels_last = false;
  friend bool operator==(const switch_setting&, const switch_setting&) = default;
  friend std::ostream& operator<<(std::ostream& out, const switch_setting& s) {
    return out << "{autocast " << s.autocast << ", channels_last " << s.channels_last << "}";
  }
};

inline std::string describe_setting(const switch_setting& s, std::string_view precision) {
  return fmt::format("{} {}", s.autocast ? precision : "float32", s.channels_last ? "channels-last" : "NCHW");
}

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
inline switch_setting choose_switches(const std::vector<switch_timing>& timings, switch_setting fallback) {
  std::optional<switch_timing> best;
  for (const auto& t : timings)
    if (t.seconds > 0 && (!best || t.seconds < 0.97 * best->seconds)) best = t;
  return best ? best->setting : fallback;
}

// Seconds of the fastest timed forward+backward pass of `pass(setting)` (one
// warm-up first, which builds oneDNN's kernels). A candidate whose warm-up is
// already 3x the best so far cannot win: its warm-up time stands, and the
// other layout of that precision is not tried (a layout moves a step by tens
// of percent, not 3x; bf16 without native support costs 5-10x).
inline std::vector<switch_timing> time_switches(const switch_probe& probe,
                                                const std::function<void(const switch_setting&)>& pass,
                                                double budget_s) {
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  auto seconds_of = [&](const switch_setting& s) {
    const auto t0 = clock::now();
    pass(s);
    return std::chrono::duration<double>(clock::now() - t0).count();
  };
  std::vector<switch_timing> timings;
  std::optional<bool> hopeless_autocast;
  double best = 0;
  for (const auto& setting : probe.candidates()) {
    if (std::chrono::duration<double>(clock::now() - started).count() > budget_s) break;
    if (hopeless_autocast == setting.autocast) continue;
    double fastest = seconds_of(setting);
    if (best == 0 || fastest < 3 * best)
      for (int repeat = 0; repeat < 2; ++repeat) fastest = std::min(fastest, seconds_of(setting));
    else
      hopeless_autocast = setting.autocast;
    timings.push_back({setting, fastest});
    if (best == 0 || fastest < best) best = fastest;
  }
  return timings;
}

// The choice cached under `key`, if any (a damaged entry counts as none).
inline std::optional<switch_setting> cached_switches(const nlohmann::json& key) {
  const auto cached = read_machine_cache("switches", key, "chosen");
  if (!cached) return std::nullopt;
  const auto& c = (*cached)["chosen"];
  if (!c.is_object() || !c.contains("autocast") || !c.contains("channels_last")) return std::nullopt;
  return switch_setting{c["autocast"].get<bool>(), c["channels_last"].get<bool>()};
}

// The cached choice for this key, else measured (and cached). Logs one line
// to `log` either way, naming what was measured or that it came from the cache.
inline switch_setting measured_switches(const switch_probe& probe, const nlohmann::json& key,
                                        const std::function<void(const switch_setting&)>& pass, std::ostream& log,
                                        double budget_s = 60) {
  const std::string kind = "switches";
  if (const auto cached = cached_switches(key)) {
    log << "auto: " << describe_setting(*cached, probe.precision) << " (measured earlier on this machine; "
        << machine_cache_file(kind, key).string() << ")\n";
    return *cached;
  }
  const auto timings = time_switches(probe, pass, budget_s);
  const auto chosen = choose_switches(timings, probe.fixed);
  nlohmann::json measured = nlohmann::json::array();
  std::string summary;
  for (const auto& t : timings) {
    measured.push_back({{"autocast", t.setting.autocast}, {"channels_last", t.setting.channels_last}, {"seconds", t.seconds}});
    summary += fmt::format("{}{} {:.1f} ms", summary.empty() ? "" : ", ", describe_setting(t.setting, probe.precision),
                           1e3 * t.seconds);
  }
  log << "auto: " << describe_setting(chosen, probe.precision) << " (measured now, forward+backward of the model at "
      << key.value("probe", std::string("reduced size")) << ": " << summary << "; cached)\n";
  if (!timings.empty())
    write_machine_cache(kind, {{"key", key},
                               {"measured", measured},
                               {"chosen", {{"autocast", chosen.autocast}, {"channels_last", chosen.channels_last}}}});
  return chosen;
}

}  // namespace mixtrain
