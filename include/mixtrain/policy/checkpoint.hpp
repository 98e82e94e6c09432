#pragma once
// Checkpoints beyond the trainer's own last.pt (written atomically after every
// epoch):
//   - epoch_NNN.pt every `every_epochs` epochs (--save_frequency; 0: none);
//   - the `keep_best` best epochs by the monitored metric as best_epochNNN.pt
//     (files falling out of the top k are deleted) and best.pt, a copy of the
//     best one (with mt::policy::ema the metric is the EMA model's);
//   - on SIGINT/SIGTERM, a recovery.pt at the next accumulation-window
//     boundary, then a clean stop (--resume recovery.pt continues at the exact
//     micro-batch); a second signal ends the process at once;
//   - --init_from: the trainer starts a new run from another run's weights.
// Every file is written through io::write_atomically: never a torn file.
#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/context.hpp>
#include <mixtrain/core/recipe.hpp>
#include <mixtrain/io/checkpoint.hpp>
#include <mixtrain/policy/common.hpp>

namespace mixtrain::policy {

namespace checkpoint_detail {

inline volatile std::sig_atomic_t pending_signal = 0;

// Only records the signal (all a handler may safely do) and restores the
// default action, so a second signal is not swallowed.
extern "C" inline void note_signal(int signal_number) {
  pending_signal = signal_number;
  std::signal(signal_number, SIG_DFL);
}

}  // namespace checkpoint_detail

struct checkpoint_config {
  int every_epochs = 0;  // keep epoch_NNN.pt every N epochs; 0: off
  int keep_best = 1;     // best_epochNNN.pt files kept; 0: no best tracking
  char monitor[metric_name_size] = "val_mre";
  metric_mode mode = metric_mode::min;
  bool on_signal = true;  // SIGINT/SIGTERM: recovery checkpoint and clean stop
};

template <checkpoint_config C = checkpoint_config{}>
struct checkpoint {
  static_assert(C.every_epochs >= 0, "checkpoint: every_epochs must not be negative (0 turns it off).");
  static_assert(C.keep_best >= 0, "checkpoint: keep_best must not be negative (0 turns it off).");
  static_assert(valid_metric_name(C.monitor), "checkpoint: monitor must name a metric, such as \"val_mre\".");
  static constexpr policy_kind kind = policy_kind::checkpoint;
  static constexpr std::string_view name = "checkpoint";

  checkpoint_config config = C;
  // Read by the trainer before on_fit_begin (see trainer::initial_weights).
  std::filesystem::path init_from;
  bool init_strict = true;

  void add_flags(CLI::App& cli) {
    cli.add_option("--save_frequency", config.every_epochs, "also keep a checkpoint every N epochs (0: off)")
        ->check(at_least(0));
    cli.add_option("--keep_best", config.keep_best, "best checkpoints kept by validation metric (0: none)")
        ->check(at_least(0));
    if (cli.get_option_no_throw("--init_from") == nullptr) {
      cli.add_option("--init_from", init_from, "start a new run from another run's weights (model only)")
          ->check(CLI::ExistingFile);
      cli.add_flag("--init_strict", init_strict,
                   "with --init_from, require every tensor to match by name and shape (--init_strict=false: load "
                   "what matches and list the rest)");
    }
  }

  [[nodiscard]] nlohmann::json describe() const {
    return {{"every_epochs", config.every_epochs},
            {"keep_best", config.keep_best},
            {"monitor", config.monitor},
            {"mode", mode_name(config.mode)},
            {"on_signal", config.on_signal},
            {"last", "last.pt after every epoch, written atomically"},
            {"init_from", init_from.string()},
            {"init_strict", init_strict}};
  }

  void on_fit_begin(context&) {
    if (!config.on_signal) return;
    checkpoint_detail::pending_signal = 0;
    previous_int_ = std::signal(SIGINT, checkpoint_detail::note_signal);
    previous_term_ = std::signal(SIGTERM, checkpoint_detail::note_signal);
    installed_ = true;
  }

  void on_fit_end(context&) {
    checkpoint_detail::pending_signal = 0;
    if (!installed_) return;
    std::signal(SIGINT, previous_int_);
    std::signal(SIGTERM, previous_term_);
    installed_ = false;
  }

  // Window ends: the earliest points where a stop leaves a resumable state.
  void after_optimizer_step(context& ctx) { poll_signal(ctx); }
  void after_skipped_step(context& ctx) { poll_signal(ctx); }

  // Counters already point at the next epoch here.
  void on_epoch_end(context& ctx) {
    poll_signal(ctx);
    if (config.every_epochs > 0 && ctx.epoch % config.every_epochs == 0)
      ctx.write_checkpoint(ctx.output_dir / fmt::format("epoch_{:03}.pt", ctx.epoch));
    consider_best(ctx);
    if (interrupted_) write_recovery(ctx);
  }

  // The trainer left an epoch early (a stop request at a window end).
  void on_interrupt(context& ctx) { write_recovery(ctx); }

  void save_state(torch::serialize::OutputArchive& archive) const {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& b : best_) list.push_back({{"value", b.value}, {"epoch", b.epoch}, {"file", b.file}});
    archive.write("best", c10::IValue(list.dump()));
  }

  void load_state(torch::serialize::InputArchive& archive) {
    c10::IValue v;
    archive.read("best", v);
    best_.clear();
    for (const auto& b : nlohmann::json::parse(v.toStringRef()))
      best_.push_back({b.at("value").get<double>(), b.at("epoch").get<std::int64_t>(), b.at("file").get<std::string>()});
  }

  struct best_entry {
    double value = 0;
    std::int64_t epoch = 0;  // epochs completed
    std::string file;
  };
  // Best first.
  [[nodiscard]] const std::vector<best_entry>& best() const { return best_; }

 private:
  void poll_signal(context& ctx) {
    const int signal_number = checkpoint_detail::pending_signal;
    if (signal_number == 0 || interrupted_) return;
    interrupted_ = true;
    ctx.request_stop(std::string(signal_number == SIGTERM ? "SIGTERM" : "SIGINT") + " received");
  }

  void write_recovery(context& ctx) {
    const auto path = ctx.output_dir / "recovery.pt";
    ctx.write_checkpoint(path);
    *ctx.log << fmt::format("{}: wrote {} at epoch {}, batch {}; continue with --resume {}\n", ctx.stop_reason,
                            path.string(), ctx.epoch + 1, ctx.batch_in_epoch, path.string());
  }

  void consider_best(context& ctx) {
    const auto keep = static_cast<std::size_t>(config.keep_best);
    if (keep == 0) return;
    const double value = monitored_value(ctx, config.monitor, "checkpoint");
    if (!std::isfinite(value)) return;
    if (best_.size() >= keep && !improves(value, best_.back().value, config.mode)) return;
    best_entry entry{value, ctx.epoch, fmt::format("best_epoch{:03}.pt", ctx.epoch)};
    ctx.write_checkpoint(ctx.output_dir / entry.file);
    // After entries as good: on ties the earlier epoch stays ahead.
    const auto at = std::find_if(best_.begin(), best_.end(),
                                 [&](const best_entry& b) { return improves(value, b.value, config.mode); });
    const bool is_best = at == best_.begin();
    best_.insert(at, entry);
    while (best_.size() > keep) {
      std::error_code ignored;
      std::filesystem::remove(ctx.output_dir / best_.back().file, ignored);
      best_.pop_back();
    }
    if (is_best)
      io::write_atomically(ctx.output_dir / "best.pt", [&](const std::filesystem::path& temporary) {
        std::filesystem::copy_file(ctx.output_dir / entry.file, temporary,
                                   std::filesystem::copy_options::overwrite_existing);
      });
  }

  std::vector<best_entry> best_;
  bool interrupted_ = false;
  bool installed_ = false;
  void (*previous_int_)(int) = SIG_DFL;
  void (*previous_term_)(int) = SIG_DFL;
};

}  // namespace mixtrain::policy
