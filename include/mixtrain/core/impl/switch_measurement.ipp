#pragma once
// Definitions of the functions declared in <mixtrain/core/switch_measurement.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/core/switch_measurement.hpp>

namespace mixtrain {

MIXTRAIN_COLD std::string describe_setting(const switch_setting& s, std::string_view precision) {
  return fmt::format("{} {}", s.autocast ? precision : "float32", s.channels_last ? "channels-last" : "NCHW");
}

MIXTRAIN_COLD switch_setting choose_switches(const std::vector<switch_timing>& timings, switch_setting fallback) {
  std::optional<switch_timing> best;
  for (const auto& t : timings)
    if (t.seconds > 0 && (!best || t.seconds < 0.97 * best->seconds)) best = t;
  return best ? best->setting : fallback;
}

MIXTRAIN_COLD std::vector<switch_timing> time_switches(const switch_probe& probe,
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

MIXTRAIN_COLD std::optional<switch_setting> cached_switches(const nlohmann::json& key) {
  const auto cached = read_machine_cache("switches", key, "chosen");
  if (!cached) return std::nullopt;
  const auto& c = (*cached)["chosen"];
  if (!c.is_object() || !c.contains("autocast") || !c.contains("channels_last")) return std::nullopt;
  return switch_setting{c["autocast"].get<bool>(), c["channels_last"].get<bool>()};
}

MIXTRAIN_COLD switch_setting measured_switches(const switch_probe& probe, const nlohmann::json& key,
                                               const std::function<void(const switch_setting&)>& pass, std::ostream& log,
                                               double budget_s) {
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
