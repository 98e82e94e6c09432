#pragma once
// The default logging policies: one console line per epoch (and one when the
// run's first optimizer step is done, with its loss and time: the first sign
// that a long run has really started) and one CSV row per epoch (metrics.csv). The trainer adds both unless the recipe holds a
// policy of the same exclusive group ("console_log", "csv_log"), so a recipe
// replaces either by listing its own. Columns and fields come from the task's
// metrics type, whatever the task.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include <fmt/core.h>

#include <mixtrain/core/metrics.hpp>
#include <mixtrain/io/files.hpp>
#include <mixtrain/core/separate_compilation.hpp>

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

  // Reads the loss back once per run.
  void after_optimizer_step(auto& ctx) const {
    if (ctx.global_step != ctx.fit_first_step || !ctx.loss.defined() || ctx.fit_started == decltype(ctx.fit_started){}) return;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx.fit_started).count();
    *ctx.log << fmt::format("first optimizer step done: loss {:.5g}, {:.1f} s after the start\n",
                            ctx.loss.template item<double>(), seconds)
             << std::flush;
  }

  // Counters already point at the next epoch here.
  void on_epoch_end(auto& ctx) const {
    const auto& s = ctx.statistics;
    std::string line = fmt::format("epoch {:>3}/{}  loss {:.5f}", ctx.epoch, ctx.epochs, s.train_loss);
    using metrics_type = std::remove_cvref_t<decltype(ctx.metrics)>;
    for (const auto name : metric_names<metrics_type>())
      line += fmt::format("  {} {:.4g}", name, metric_value(ctx.metrics, name));
    line += fmt::format("  lr {:.2e}  {:.1f} img/s  data wait {:4.1f}%  {:.1f}s", s.learning_rate,
                        logging_detail::rate(ctx), 100 * logging_detail::wait_fraction(ctx), s.epoch_seconds);
    if (ctx.nonfinite_steps > 0) line += fmt::format("  skipped {} non-finite steps", ctx.nonfinite_steps);
    *ctx.log << line << "\n" << std::flush;
  }
};

struct csv_log {
  static constexpr std::string_view name = "csv_log";
  static constexpr std::string_view exclusive = "csv_log";

  // A new run starts the file; a resumed run keeps the rows of the epochs its
  // checkpoint had finished and drops later ones (written after that
  // checkpoint by the run that was cut short), so no epoch appears twice.
  void on_fit_begin(auto& ctx) const {
    if (!ctx.writes_files()) return;  // data parallelism: rank 0 writes
    const auto path = ctx.output_dir / "metrics.csv";
    const bool resuming = ctx.epoch > 0 || ctx.batch_in_epoch > 0;
    std::string header = "epoch,train_loss";
    using metrics_type = std::remove_cvref_t<decltype(ctx.metrics)>;
    for (const auto name : metric_names<metrics_type>()) header.append(",").append(name);
    header += ",lr,images_per_s,data_wait_fraction,epoch_s\n";
    if (resuming && std::filesystem::exists(path)) header = rows_up_to(path, ctx.epoch);
    io::write_text_atomically(path, header);
  }
  void on_epoch_end(auto& ctx) const {
    if (!ctx.writes_files()) return;
    const auto& s = ctx.statistics;
    std::string row = fmt::format("{},{:.6f}", ctx.epoch, s.train_loss);
    using metrics_type = std::remove_cvref_t<decltype(ctx.metrics)>;
    for (const auto name : metric_names<metrics_type>()) row += fmt::format(",{:.6f}", metric_value(ctx.metrics, name));
    row += fmt::format(",{:.6e},{:.3f},{:.4f},{:.3f}\n", s.learning_rate, logging_detail::rate(ctx),
                       logging_detail::wait_fraction(ctx), s.epoch_seconds);
    io::append_whole(ctx.output_dir / "metrics.csv", row);  // a whole row or none
  }

 private:
  // The header and the rows of epochs 1..last, whole lines only.
  MIXTRAIN_COLD static std::string rows_up_to(const std::filesystem::path& path, std::int64_t last);
};

}  // namespace mixtrain::policy

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/policy/impl/logging.ipp>
#endif
