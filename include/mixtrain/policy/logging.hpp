#pragma once
// The default logging policies: one console line per epoch and one CSV row
// per epoch (metrics.csv). The trainer adds both unless the recipe holds a
// policy of the same exclusive group ("console_log", "csv_log"), so a recipe
// replaces either by listing its own. Columns and fields come from the task's
// metrics type, whatever the task.
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <fmt/core.h>

#include <mixtrain/core/metrics.hpp>

namespace mixtrain::policy {

namespace logging_detail {
template <class Context>
double rate(const Context& ctx) {
  const auto& s = ctx.statistics;
  return static_cast<double>(s.images) / std::max(s.train_seconds, 1e-9);
}
template <class Context>
double wait_fraction(const Context& ctx) {
  const auto& s = ctx.statistics;
  return s.wait_seconds / std::max(s.train_seconds, 1e-9);
}
}  // namespace logging_detail

struct console_log {
  static constexpr std::string_view name = "console_log";
  static constexpr std::string_view exclusive = "console_log";

  // Counters already point at the next epoch here.
  void on_epoch_end(auto& ctx) const {
    const auto& s = ctx.statistics;
    std::string line = fmt::format("epoch {:>3}/{}  loss {:.5f}", ctx.epoch, ctx.epochs, s.train_loss);
    using metrics_type = std::remove_cvref_t<decltype(ctx.metrics)>;
    for (const auto name : metric_names<metrics_type>())
      line += fmt::format("  {} {:.4g}", name, metric_value(ctx.metrics, name));
    line += fmt::format("  lr {:.2e}  {:.1f} img/s  data wait {:4.1f}%  {:.1f}s\n", s.learning_rate,
                        logging_detail::rate(ctx), 100 * logging_detail::wait_fraction(ctx), s.epoch_seconds);
    *ctx.log << line << std::flush;
  }
};

struct csv_log {
  static constexpr std::string_view name = "csv_log";
  static constexpr std::string_view exclusive = "csv_log";

  // A resumed run appends to the file it left.
  void on_fit_begin(auto& ctx) const {
    const auto path = ctx.output_dir / "metrics.csv";
    const bool resuming = ctx.epoch > 0 || ctx.batch_in_epoch > 0;
    if (resuming && std::filesystem::exists(path)) return;
    std::ofstream out(path, std::ios::trunc);
    out << "epoch,train_loss";
    using metrics_type = std::remove_cvref_t<decltype(ctx.metrics)>;
    for (const auto name : metric_names<metrics_type>()) out << "," << name;
    out << ",lr,images_per_s,data_wait_fraction,epoch_s\n";
    if (!out) throw std::runtime_error(path.string() + ": cannot write the metrics file");
  }

  void on_epoch_end(auto& ctx) const {
    const auto& s = ctx.statistics;
    std::string row = fmt::format("{},{:.6f}", ctx.epoch, s.train_loss);
    using metrics_type = std::remove_cvref_t<decltype(ctx.metrics)>;
    for (const auto name : metric_names<metrics_type>()) row += fmt::format(",{:.6f}", metric_value(ctx.metrics, name));
    row += fmt::format(",{:.6e},{:.3f},{:.4f},{:.3f}\n", s.learning_rate, logging_detail::rate(ctx),
                       logging_detail::wait_fraction(ctx), s.epoch_seconds);
    const auto path = ctx.output_dir / "metrics.csv";
    std::ofstream out(path, std::ios::app);
    out << row;
    out.flush();
    if (!out) throw std::runtime_error(path.string() + ": cannot append to the metrics file");
  }
};

}  // namespace mixtrain::policy
