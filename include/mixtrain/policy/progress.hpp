#pragma once
// Progress inside training epochs and evaluations: a bar redrawn in place
// (images, images/s, data wait, ETA) when the log is a terminal, plain lines
// every --progress_seconds when it is not (a file or a pipe stays readable),
// nothing with --progress off. The trainer adds it unless the recipe holds a
// policy of the exclusive group "progress".
//
// Only host-side numbers are shown: reading the loss back per step would
// synchronise the device. Between prints a batch costs one clock read and a
// few integer compares. The bar is erased at the end of each pass (and on a
// stop request), before anything else writes to the log, so console_log's
// epoch line lands on a clean line.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

#include <unistd.h>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <mixtrain/core/batch_progress.hpp>
#include <mixtrain/core/fields.hpp>
#include <mixtrain/core/flag_set.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::policy {

enum class progress_mode { automatic, bar, lines, off };

MIXTRAIN_COLD std::string_view mode_name(progress_mode mode);
// The mode a flag value names (any letter case), if any.
MIXTRAIN_COLD std::optional<progress_mode> mode_named(std::string_view name);
MIXTRAIN_COLD std::string describe_value(progress_mode mode);

struct progress_config {
  progress_mode mode = progress_mode::automatic;
  double seconds = 30;       // period of the plain lines
  double bar_seconds = 0.1;  // the bar redraws at most this often
  int bar_width = 20;

  static constexpr auto fields() {
    using c = progress_config;
    return std::tuple{field{&c::mode, "mode"},
                      field{&c::seconds, "seconds",
                            flag{"--progress_seconds", "seconds between plain progress lines (when not a terminal)", 0}},
                      field{&c::bar_seconds, "bar_seconds"}, field{&c::bar_width, "bar_width"}};
  }
};

namespace progress_detail {

// "0:03", "12:05", "1:02:03" (the bar).
MIXTRAIN_COLD std::string clock_time(double seconds);

// "3 s", "2 min 05 s", "1 h 02 min" (the plain lines).
MIXTRAIN_COLD std::string spoken_time(double seconds);

// What one print shows, from the pass's counts at `elapsed` seconds.
struct snapshot {
  std::int64_t images = 0, images_total = 0;
  double rate = 0;         // images/s since the pass started
  double wait = 0;         // fraction of the pass spent waiting for data
  double eta = 0;          // seconds left, from the batches left at the pass's pace
  double done = 0;         // fraction of the pass's batches done
};

MIXTRAIN_COLD snapshot measure(const batch_progress& p, double elapsed);

// "epoch 3/40 [########............] 120/400 img  85.3 img/s  wait 2%  ETA 0:03"
MIXTRAIN_COLD std::string bar_text(std::string_view label, const snapshot& s, int width);

// "epoch 3/40: 120/400 images, 85.3 img/s, ETA 3 s, data wait 2%"
MIXTRAIN_COLD std::string line_text(std::string_view label, const snapshot& s);

// auto: the bar when the log is standard output and that is a terminal.
MIXTRAIN_COLD progress_mode resolve(progress_mode mode, const std::ostream* log);

}  // namespace progress_detail

// Clock: anything with a static now() returning steady_clock's time_point
// (the tests drive a fake one).
template <progress_config C = progress_config{}, class Clock = std::chrono::steady_clock>
struct progress {
  static_assert(C.seconds >= 0 && C.bar_seconds >= 0, "progress: seconds and bar_seconds must not be negative.");
  static_assert(C.bar_width >= 1, "progress: bar_width must be at least 1.");
  static_assert(std::is_same_v<decltype(Clock::now()), std::chrono::steady_clock::time_point>,
                "progress: Clock::now() must return std::chrono::steady_clock::time_point.");
  static constexpr std::string_view name = "progress";
  static constexpr std::string_view exclusive = "progress";
  // Output only: a resumed run does not have to show the same progress.
  static constexpr bool in_run_identity = false;
  using config_type = progress_config;

  config_type config = C;

  void add_flags(flag_set cli) {
    cli.add_option_function(
           "--progress", [this](const std::string& v) { config.mode = *mode_named(v); },
           "progress inside epochs and evaluations: auto (a bar on a terminal, else lines), bar, lines or off")
        .check([](const std::string& v) { return mode_named(v) ? std::string() : "must be auto, bar, lines or off, got '" + v + "'"; },
               "auto|bar|lines|off")
        .default_str(std::string(mode_name(config.mode)));
    add_field_flags(cli, config);
  }
  [[nodiscard]] nlohmann::json describe() const { return describe_fields(config); }

  void on_fit_begin(auto&) { in_fit_ = true; }
  void on_fit_end(auto& ctx) {
    erase(ctx);
    in_fit_ = false;
  }

  void on_train_batch(auto& ctx, const batch_progress& p) { step(ctx, p, false); }
  void on_evaluation_batch(auto& ctx, const batch_progress& p) { step(ctx, p, true); }

  // Safety nets for a pass that ended without its last batch (the bar is
  // normally gone already).
  void on_validation_end(auto& ctx) { erase(ctx); }
  void on_interrupt(auto& ctx) { erase(ctx); }

 private:
  using time_point = std::chrono::steady_clock::time_point;

  template <class Context>
  void step(Context& ctx, const batch_progress& p, bool evaluating) {
    const auto now = Clock::now();
    // The common case: nothing due, the pass goes on, no stop requested.
    if (now < next_ && p.batches < p.batches_total && !ctx.stop_requested) return;
    if (p.started != pass_started_) begin_pass(ctx, p, evaluating);
    const bool last = p.batches >= p.batches_total || ctx.stop_requested;
    if (now < next_ && !last) return;  // a new pass whose first print is not due yet
    if (mode_ == progress_mode::bar) {
      if (last) return erase(ctx);
      // Before the run's first optimizer step, console_log may still print its
      // line: a bar drawn now would be cut by it (accumulation windows).
      if (!evaluating && in_fit_ && ctx.global_step < ctx.fit_first_step) return schedule(now, config.bar_seconds);
      draw(ctx, progress_detail::bar_text(label_, measure(p, now), config.bar_width));
      schedule(now, config.bar_seconds);
    } else if (mode_ == progress_mode::lines) {
      if (now < next_) return;  // the last batch, or a stop, before a line was due
      *ctx.log << progress_detail::line_text(label_, measure(p, now)) << std::flush;
      schedule(now, config.seconds);
    }
  }

  template <class Context>
  void begin_pass(Context& ctx, const batch_progress& p, bool evaluating) {
    erase(ctx);
    pass_started_ = p.started;
    mode_ = progress_detail::resolve(config.mode, ctx.log);
    if (!evaluating) label_ = fmt::format("epoch {}/{}", ctx.epoch + 1, ctx.epochs);
    else label_ = in_fit_ ? fmt::format("epoch {}/{} valid", ctx.epoch + 1, ctx.epochs) : std::string("evaluate");
    next_ = mode_ == progress_mode::off ? time_point::max()
                                        : p.started + seconds(mode_ == progress_mode::bar ? config.bar_seconds : config.seconds);
  }

  progress_detail::snapshot measure(const batch_progress& p, time_point now) const {
    return progress_detail::measure(p, std::chrono::duration<double>(now - p.started).count());
  }

  static std::chrono::steady_clock::duration seconds(double s) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
  }
  void schedule(time_point now, double period) { next_ = now + seconds(period); }

  // Overwrites the line in place; spaces cover a longer previous text.
  template <class Context>
  void draw(Context& ctx, const std::string& text) {
    const auto width = static_cast<std::int64_t>(text.size());
    *ctx.log << '\r' << text << std::string(static_cast<std::size_t>(std::max<std::int64_t>(0, drawn_ - width)), ' ')
             << std::flush;
    drawn_ = width;
  }

  // Leaves the cursor at the start of an empty line (no escape codes, so a
  // terminal without ANSI support erases it too).
  template <class Context>
  void erase(Context& ctx) {
    if (drawn_ == 0) return;
    *ctx.log << '\r' << std::string(static_cast<std::size_t>(drawn_), ' ') << '\r' << std::flush;
    drawn_ = 0;
  }

  time_point next_{};          // when the next print is due (the fast path compares only this)
  time_point pass_started_{};  // identifies the pass being shown
  progress_mode mode_ = progress_mode::off;
  std::int64_t drawn_ = 0;     // characters of the bar on the line, 0: none
  bool in_fit_ = false;
  std::string label_;
};

}  // namespace mixtrain::policy

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/policy/impl/progress.ipp>
#endif
