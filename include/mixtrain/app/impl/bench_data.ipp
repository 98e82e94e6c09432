#pragma once
// Definitions of the functions declared in <mixtrain/app/bench_data.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/app/bench_data.hpp>

namespace mixtrain::app {

MIXTRAIN_COLD double proc_status_mb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024.0;  // kB
  return 0;
}

MIXTRAIN_COLD double peak_rss_mb() { return proc_status_mb("VmHWM"); }

MIXTRAIN_COLD void memory_sampler::sample() {
  std::ifstream in("/proc/self/smaps_rollup");
  double rss = 0, pss = 0, dirty = 0;
  for (std::string line; std::getline(in, line);) {
    auto kb = [&](const char* key) {
      const std::string k = key;
      return line.rfind(k, 0) == 0 ? std::stod(line.substr(k.size())) / 1024.0 : 0.0;
    };
    rss += kb("Rss:");
    pss += kb("Pss:");
    dirty += kb("Pss_Dirty:");
  }
  peaks_.rss_mb = std::max(peaks_.rss_mb, rss);
  peaks_.pss_mb = std::max(peaks_.pss_mb, pss);
  peaks_.dirty_mb = std::max(peaks_.dirty_mb, dirty);
}

namespace bench_detail {

MIXTRAIN_COLD nlohmann::json per_image_ms(const data::stage_totals& cost) {
  const double per = cost.samples > 0 ? 1e-6 / static_cast<double>(cost.samples) : 0.0;  // ns sum -> ms per image
  const double decode = static_cast<double>(cost.decode_ns) * per, warp = static_cast<double>(cost.warp_ns) * per,
               rest = static_cast<double>(cost.rest_ns) * per;
  return {{"decode", decode},
          {"decode_scale_down", static_cast<double>(cost.scale_ns) * per},
          {"warp", warp},
          {"rest", rest},
          {"total", decode + warp + rest}};
}

}  // namespace bench_detail
}  // namespace mixtrain::app
