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
// Every file is written through io::write_atomically: never a torn file.
#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/fields.hpp>
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

  static constexpr auto fields() {
    using c = checkpoint_config;
    return std::tuple{
        field{&c::every_epochs, "every_epochs", flag{"--save_frequency", "also keep a checkpoint every N epochs (0: off)", 0}},
        field{&c::keep_best, "keep_best", flag{"--keep_best", "best checkpoints kept by validation metric (0: none)", 0}},
        field{&c::monitor, "monitor"},
        field{&c::mode, "mode"},
        field{&c::on_signal, "on_signal"}};
  }
};

struct best_checkpoint {
  double value = 0;
  std::int64_t epoch = 0;  // epochs completed
  std::string file;
  friend void to_json(nlohmann::json& j, const best_checkpoint& b) {
    j = {{"value", b.value}, {"epoch", b.epoch}, {"file", b.file}};
  }
  friend void from_json(const nlohmann::json& j, best_checkpoint& b) {
    b = {j.at("value").get<double>(), j.at("epoch").get<std::int64_t>(), j.at("file").get<std::string>()};
  }
};

// The best checkpoints so far, best first (saved with checkpoints).
struct best_checkpoints {
  std::vector<best_checkpoint> entries;
  static constexpr auto fields() { return std::tuple{field{&best_checkpoints::entries, "best"}}; }
};

template <checkpoint_config C = checkpoint_config{}>
struct checkpoint {
  static_assert(C.every_epochs >= 0, "checkpoint: every_epochs must not be negative (0 turns it off).");
  static_assert(C.keep_best >= 0, "checkpoint: keep_best must not be negative (0 turns it off).");
  static_assert(valid_metric_name(C.monitor), "checkpoint: monitor must name a metric, such as \"val_mre\".");
  static constexpr std::string_view name = "checkpoint";
  static constexpr std::string_view exclusive = "checkpoint";
  static constexpr std::string_view monitor = C.monitor;
  using config_type = checkpoint_config;

  config_type config = C;

  void add_flags(CLI::App& cli) { add_field_flags(cli, config); }
  [[nodiscard]] nlohmann::json describe() const {
    auto j = describe_fields(config);
    j["last"] = "last.pt after every epoch, written atomically";
    return j;
  }

  void on_fit_begin(auto&) {
    if (!config.on_signal) return;
    checkpoint_detail::pending_signal = 0;
    previous_int_ = std::signal(SIGINT, checkpoint_detail::note_signal);
    previous_term_ = std::signal(SIGTERM, checkpoint_detail::note_signal);
    installed_ = true;
  }

  void on_fit_end(auto&) {
    checkpoint_detail::pending_signal = 0;
    if (!installed_) return;
    std::signal(SIGINT, previous_int_);
    std::signal(SIGTERM, previous_term_);
    installed_ = false;
  }

  // Window ends: the earliest points where a stop leaves a resumable state.
  void after_optimizer_step(auto& ctx) { poll_signal(ctx); }
  void after_skipped_step(auto& ctx) { poll_signal(ctx); }

  // Counters already point at the next epoch here.
  void on_epoch_end(auto& ctx) {
    poll_signal(ctx);
    if (config.every_epochs > 0 && ctx.epoch % config.every_epochs == 0)
      ctx.write_checkpoint(ctx.output_dir / fmt::format("epoch_{:03}.pt", ctx.epoch));
    consider_best(ctx);
    if (interrupted_) write_recovery(ctx);
  }

  // The trainer left an epoch early (a stop request at a window end).
  void on_interrupt(auto& ctx) { write_recovery(ctx); }

  void save_state(torch::serialize::OutputArchive& archive) const { save_fields(archive, best_); }
  void load_state(torch::serialize::InputArchive& archive) { load_fields(archive, best_); }

  using best_entry = best_checkpoint;
  // Best first.
  [[nodiscard]] const std::vector<best_entry>& best() const { return best_.entries; }

 private:
  void poll_signal(auto& ctx) {
    const int signal_number = checkpoint_detail::pending_signal;
    if (signal_number == 0 || interrupted_) return;
    interrupted_ = true;
    ctx.request_stop(std::string(signal_number == SIGTERM ? "SIGTERM" : "SIGINT") + " received");
  }

  void write_recovery(auto& ctx) {
    const auto path = ctx.output_dir / "recovery.pt";
    ctx.write_checkpoint(path);
    *ctx.log << fmt::format("{}: wrote {} at epoch {}, batch {}; continue with --resume {}\n", ctx.stop_reason,
                            path.string(), ctx.epoch + 1, ctx.batch_in_epoch, path.string());
  }

  void consider_best(auto& ctx) {
    const auto keep = static_cast<std::size_t>(config.keep_best);
    if (keep == 0) return;
    const double value = monitored_value<checkpoint>(ctx);
    auto& list = best_.entries;
    if (!std::isfinite(value)) return;
    if (list.size() >= keep && !improves(value, list.back().value, config.mode)) return;
    best_entry entry{value, ctx.epoch, fmt::format("best_epoch{:03}.pt", ctx.epoch)};
    ctx.write_checkpoint(ctx.output_dir / entry.file);
    // After entries as good: on ties the earlier epoch stays ahead.
    const auto at = std::find_if(list.begin(), list.end(),
                                 [&](const best_entry& b) { return improves(value, b.value, config.mode); });
    const bool is_best = at == list.begin();
    list.insert(at, entry);
    while (list.size() > keep) {
      std::error_code ignored;
      std::filesystem::remove(ctx.output_dir / list.back().file, ignored);
      list.pop_back();
    }
    if (is_best)
      io::write_atomically(ctx.output_dir / "best.pt", [&](const std::filesystem::path& temporary) {
        std::filesystem::copy_file(ctx.output_dir / entry.file, temporary,
                                   std::filesystem::copy_options::overwrite_existing);
      });
  }

  best_checkpoints best_;
  bool interrupted_ = false;
  bool installed_ = false;
  void (*previous_int_)(int) = SIG_DFL;
  void (*previous_term_)(int) = SIG_DFL;
};

}  // namespace mixtrain::policy
