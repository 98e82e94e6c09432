#pragma once
// Definitions of the functions declared in <mixtrain/policy/progress.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/policy/progress.hpp>

#include <cctype>

namespace mixtrain::policy {

MIXTRAIN_COLD std::string_view mode_name(progress_mode mode) {
  switch (mode) {
    case progress_mode::bar: return "bar";
    case progress_mode::lines: return "lines";
    case progress_mode::off: return "off";
    default: return "auto";
  }
}

MIXTRAIN_COLD std::optional<progress_mode> mode_named(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (auto mode : {progress_mode::automatic, progress_mode::bar, progress_mode::lines, progress_mode::off})
    if (mode_name(mode) == lower) return mode;
  return std::nullopt;
}

MIXTRAIN_COLD std::string describe_value(progress_mode mode) { return std::string(mode_name(mode)); }

namespace progress_detail {

MIXTRAIN_COLD std::string clock_time(double seconds) {
  const auto s = static_cast<std::int64_t>(std::max(0.0, seconds) + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

MIXTRAIN_COLD std::string spoken_time(double seconds) {
  const auto s = static_cast<std::int64_t>(std::max(0.0, seconds) + 0.5);
  if (s >= 3600) return fmt::format("{} h {:02} min", s / 3600, s / 60 % 60);
  if (s >= 60) return fmt::format("{} min {:02} s", s / 60, s % 60);
  return fmt::format("{} s", s);
}

MIXTRAIN_COLD snapshot measure(const batch_progress& p, double elapsed) {
  snapshot s;
  s.images = p.images;
  s.images_total = std::max(p.images_total, p.images);
  elapsed = std::max(elapsed, 1e-9);
  s.rate = static_cast<double>(p.images) / elapsed;
  s.wait = std::clamp(p.waited() / elapsed, 0.0, 1.0);
  const auto run = std::max<std::int64_t>(1, p.batches - p.first_batch);
  s.eta = static_cast<double>(std::max<std::int64_t>(0, p.batches_total - p.batches)) * elapsed / static_cast<double>(run);
  s.done = p.batches_total > 0 ? std::clamp(static_cast<double>(p.batches) / static_cast<double>(p.batches_total), 0.0, 1.0) : 0.0;
  return s;
}

MIXTRAIN_COLD std::string bar_text(std::string_view label, const snapshot& s, int width) {
  const auto filled = static_cast<int>(s.done * width);
  return fmt::format("{} [{}{}] {}/{} img  {:.1f} img/s  wait {:.0f}%  ETA {}", label, std::string(filled, '#'),
                     std::string(width - filled, '.'), s.images, s.images_total, s.rate, 100 * s.wait,
                     clock_time(s.eta));
}

MIXTRAIN_COLD std::string line_text(std::string_view label, const snapshot& s) {
  return fmt::format("{}: {}/{} images, {:.1f} img/s, ETA {}, data wait {:.0f}%\n", label, s.images, s.images_total,
                     s.rate, spoken_time(s.eta), 100 * s.wait);
}

MIXTRAIN_COLD progress_mode resolve(progress_mode mode, const std::ostream* log) {
  if (mode != progress_mode::automatic) return mode;
  return log == &std::cout && ::isatty(::fileno(stdout)) != 0 ? progress_mode::bar : progress_mode::lines;
}

}  // namespace progress_detail
}  // namespace mixtrain::policy
