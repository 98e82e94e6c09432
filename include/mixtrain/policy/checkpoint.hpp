#pragma once
// Checkpoints beyond the trainer's own last.pt (written atomically after every
// epoch):
//   - epoch_NNN.pt every `every_epochs` epochs (--save_frequency; 0: none);
//   - the `keep_best` best epochs by the monitored metric as best_epochNNN.pt
//     (files falling out of the top k are deleted) and best.pt, a copy of the
//     best one (with mt::policy::ema the metric is the EMA model's).
// (SIGINT/SIGTERM and recovery.pt belong to the loop: every recipe has them.)
// Every file is written through io::write_atomically: never a torn file.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/fields.hpp>
#include <mixtrain/core/flag_set.hpp>
#include <mixtrain/io/checkpoint.hpp>
#include <mixtrain/policy/common.hpp>

namespace mixtrain::policy {

struct checkpoint_config {
  int every_epochs = 0;  // keep epoch_NNN.pt every N epochs; 0: off
  int keep_best = 1;     // best_epochNNN.pt files kept; 0: no best tracking
  char monitor[metric_name_size] = "val_mre";
  metric_mode mode = metric_mode::min;

  static constexpr auto fields() {
    using c = checkpoint_config;
    return std::tuple{
        field{&c::every_epochs, "every_epochs", flag{"--save_frequency", "also keep a checkpoint every N epochs (0: off)", 0}},
        field{&c::keep_best, "keep_best", flag{"--keep_best", "best checkpoints kept by validation metric (0: none)", 0}},
        field{&c::monitor, "monitor"},
        field{&c::mode, "mode"}};
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

  void add_flags(flag_set cli) { add_field_flags(cli, config); }
  [[nodiscard]] nlohmann::json describe() const {
    auto j = describe_fields(config);
    j["last"] = "last.pt after every epoch, written atomically";
    return j;
  }

  // Counters already point at the next epoch here.
  void on_epoch_end(auto& ctx) {
    if (!ctx.writes_files()) return;  // data parallelism: rank 0 writes checkpoints
    if (config.every_epochs > 0 && ctx.epoch % config.every_epochs == 0)
      ctx.write_checkpoint(ctx.output_dir / fmt::format("epoch_{:03}.pt", ctx.epoch));
    consider_best(ctx);
  }

  void save_state(torch::serialize::OutputArchive& archive) const { save_fields(archive, best_); }
  void load_state(torch::serialize::InputArchive& archive) { load_fields(archive, best_); }

  using best_entry = best_checkpoint;
  // Best first.
  [[nodiscard]] const std::vector<best_entry>& best() const { return best_.entries; }

 private:
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
};

}  // namespace mixtrain::policy
