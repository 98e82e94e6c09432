#pragma once
// Threads against workers, measured on the run's own steps. On a CPU the
// data workers and LibTorch's intra-op threads share the cores: while images
// are decoded (the first epoch, before the decoded-image cache holds them)
// giving LibTorch fewer threads can make the whole loop faster, and once the
// cache serves them all cores belong to the step. Which holds depends on the
// model, the image size and the machine, so this policy times end-to-end
// optimizer windows (data wait included) at a few intra-op thread counts, in
// interleaved rounds inside the first epoch a fit runs (cold) and again in
// the next (warm), and keeps the fastest for that epoch and, after the warm
// one, for the rest of the run. A count clearly slower in the first round is
// not timed again, so the measurement trains at a slow pace as little as it
// can. The windows it measures are real training windows, so nothing is spent
// beside training; the counts tried are at most the one the run started with
// (--threads, OMP_NUM_THREADS or all cores).
//
// Off on CUDA (the step does not run on the cores) and with more than one
// rank (ranks wait for each other, so one rank's timing is not its own).
// Results differ from a fixed count by float rounding only (kernels split
// their sums by thread); --thread_split=false keeps one count for a run that
// must repeat bit for bit.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/batch_progress.hpp>
#include <mixtrain/core/fields.hpp>
#include <mixtrain/core/flag_set.hpp>

namespace mixtrain::policy {

struct thread_split_config {
  bool enabled = true;
  int windows_per_trial = 3;  // timed windows per count and round, after one untimed window
  int rounds = 2;             // interleaved rounds over the counts
  double tolerance = 0.03;    // the starting count stays unless another is faster by more than this
  double drop_slower = 0.2;   // after the first round, counts this much slower than the best are not timed again

  static constexpr auto fields() {
    using c = thread_split_config;
    return std::tuple{
        field{&c::enabled, "enabled",
              flag{"--thread_split", "time intra-op thread counts on the first epochs' windows and keep the fastest "
                                     "(--thread_split=false: --threads for the whole run)"}},
        field{&c::windows_per_trial, "windows_per_trial",
              flag{"--thread_split_windows", "timed optimizer windows per thread count and round", 1}},
        field{&c::rounds, "rounds"},
        field{&c::tolerance, "tolerance"},
        field{&c::drop_slower, "drop_slower"},
    };
  }
};

// The schedule and the choice, apart from the clock and the trainer.
class thread_trials {
 public:
  struct trial {
    int threads = 0;
    double seconds = 0;
    std::int64_t images = 0;
    double wait_seconds = 0;
  };
  struct slot {
    int threads = 0;
    int round = 0;
  };

  // Counts to try from a starting count: itself, one fewer and half (rounded up).
  static std::vector<int> candidates(int start) {
    std::vector<int> counts;
    for (const int n : {start, start - 1, (start + 1) / 2})
      if (n >= 1 && std::find(counts.begin(), counts.end(), n) == counts.end()) counts.push_back(n);
    return counts;
  }

  // Plans the slots for `windows_left` windows of an epoch, using at most
  // half of them; round r starts at the r-th count, so no count always goes
  // first. Empty (with `why`) when the epoch is too short for one round.
  void plan(std::vector<int> counts, std::int64_t windows_left, const thread_split_config& config) {
    counts_ = std::move(counts);
    slots_.clear();
    trials_.clear();
    dropped_.clear();
    drops_decided_ = false;
    why_.clear();
    drop_slower_ = config.drop_slower;
    const auto n = static_cast<std::int64_t>(counts_.size());
    if (n < 2) {
      why_ = "one thread count only";
      return;
    }
    int rounds = config.rounds;
    std::int64_t timed = 0;
    for (; rounds >= 1; --rounds) {
      timed = std::min<std::int64_t>(config.windows_per_trial, windows_left / 2 / (rounds * n) - 1);
      if (timed >= 1) break;
    }
    if (rounds < 1) {
      why_ = fmt::format("the epoch has {} optimizer windows, too few to time {} counts", windows_left, n);
      return;
    }
    timed_windows_ = static_cast<int>(timed);
    for (int r = 0; r < rounds; ++r)
      for (std::int64_t i = 0; i < n; ++i) slots_.push_back({counts_[static_cast<std::size_t>((r + i) % n)], r});
  }

  // Once every count has a trial (the first round), the counts slower than
  // the best by more than drop_slower are dropped: one trial is enough to
  // know they cannot win, and each further one trains at their pace.
  void add(const trial& t) {
    trials_.push_back(t);
    if (drops_decided_ || trials_.size() != counts_.size()) return;
    drops_decided_ = true;
    double best = 0;
    for (const int n : counts_) best = std::max(best, rate(n));
    for (const int n : counts_)
      if (rate(n) < best * (1.0 - drop_slower_)) dropped_.push_back(n);
  }

  [[nodiscard]] bool dropped(int threads) const {
    return std::find(dropped_.begin(), dropped_.end(), threads) != dropped_.end();
  }

  // The first slot from `from` on whose count is still timed (slots().size(): none).
  [[nodiscard]] std::size_t next_slot(std::size_t from) const {
    while (from < slots_.size() && dropped(slots_[from].threads)) ++from;
    return from;
  }

  // The count to keep: the fastest by median images/s over its trials; the
  // starting count (the first) keeps a near tie. 0 when some count has no trial.
  [[nodiscard]] int choice(double tolerance) const {
    if (counts_.empty()) return 0;
    double best_rate = -1;
    int best = 0;
    for (const int n : counts_) {
      const double r = rate(n);
      if (r < 0) return 0;
      if (r > best_rate) best_rate = r, best = n;
    }
    return rate(counts_.front()) >= best_rate * (1.0 - tolerance) ? counts_.front() : best;
  }

  // Median images/s of a count's trials (-1: none).
  [[nodiscard]] double rate(int threads) const {
    std::vector<double> rates;
    for (const auto& t : trials_)
      if (t.threads == threads && t.seconds > 0) rates.push_back(static_cast<double>(t.images) / t.seconds);
    if (rates.empty()) return -1;
    std::sort(rates.begin(), rates.end());
    const auto m = rates.size() / 2;
    return rates.size() % 2 ? rates[m] : (rates[m - 1] + rates[m]) / 2;
  }

  // Fraction of a count's timed seconds spent waiting for data.
  [[nodiscard]] double wait_fraction(int threads) const {
    double wait = 0, total = 0;
    for (const auto& t : trials_)
      if (t.threads == threads) wait += t.wait_seconds, total += t.seconds;
    return total > 0 ? wait / total : 0;
  }

  [[nodiscard]] const std::vector<int>& counts() const { return counts_; }
  [[nodiscard]] const std::vector<slot>& slots() const { return slots_; }
  [[nodiscard]] const std::vector<trial>& trials() const { return trials_; }
  [[nodiscard]] int timed_windows() const { return timed_windows_; }
  [[nodiscard]] const std::string& why_not() const { return why_; }

 private:
  std::vector<int> counts_;
  std::vector<slot> slots_;
  std::vector<trial> trials_;
  std::vector<int> dropped_;  // decided once the first round is timed
  bool drops_decided_ = false;
  double drop_slower_ = 0.2;
  int timed_windows_ = 0;
  std::string why_;
};

// Clock: anything with a static now() returning steady_clock's time_point.
template <thread_split_config C = thread_split_config{}, class Clock = std::chrono::steady_clock>
struct thread_split {
  static_assert(C.windows_per_trial >= 1 && C.rounds >= 1, "thread_split: windows_per_trial and rounds must be at least 1.");
  static_assert(C.tolerance >= 0 && C.tolerance < 1, "thread_split: tolerance must be in [0, 1).");
  static_assert(C.drop_slower > 0 && C.drop_slower <= 1, "thread_split: drop_slower must be in (0, 1] (1: never drop).");
  static constexpr std::string_view name = "thread_split";
  static constexpr std::string_view exclusive = "thread_split";
  // Speed only: a resumed run may measure again or not at all.
  static constexpr bool in_run_identity = false;
  using config_type = thread_split_config;

  // What one measured epoch chose (the tests and the run's log read it).
  struct decision {
    std::int64_t epoch = 0;  // 0-based
    bool warm = false;
    int threads = 0;         // kept for the epoch (the starting count when nothing was measured)
    std::vector<thread_trials::trial> trials;
    std::string line;
  };

  config_type config = C;

  void add_flags(flag_set cli) { add_field_flags(cli, config); }
  [[nodiscard]] nlohmann::json describe() const { return describe_fields(config); }

  void on_fit_begin(auto& ctx) {
    start_threads_ = torch::get_num_threads();
    first_epoch_ = ctx.epoch;
    active_ = config.enabled && !ctx.device.is_cuda() && ctx.world_size == 1 && start_threads_ > 1;
    if (config.enabled && !active_)
      *ctx.log << "thread split: off, "
               << (ctx.device.is_cuda()    ? std::string("the step runs on CUDA")
                   : ctx.world_size > 1    ? fmt::format("{} ranks wait for each other", ctx.world_size)
                                           : std::string("LibTorch has one thread"))
               << "\n";
  }

  void on_epoch_begin(auto& ctx) {
    measuring_ = false;
    if (!active_ || ctx.epoch > first_epoch_ + 1) return;
    const auto windows_left =
        ctx.batches_per_epoch > 0 ? ctx.updates_per_epoch * (ctx.batches_per_epoch - ctx.batch_in_epoch) / ctx.batches_per_epoch : 0;
    trials_.plan(thread_trials::candidates(start_threads_), windows_left, config);
    if (trials_.slots().empty()) {
      conclude(ctx, ctx.epoch);
      return;
    }
    measuring_ = true;
    slot_ = 0;
    windows_in_slot_ = 0;
    torch::set_num_threads(trials_.slots().front().threads);
  }

  void on_train_batch(auto& ctx, const batch_progress& p) {
    if (!measuring_ || !ctx.window_ends) return;
    ++windows_in_slot_;
    const auto now = Clock::now();
    if (windows_in_slot_ == 1) {  // the untimed window after a change of count
      slot_started_ = now, images_at_start_ = p.images, wait_at_start_ = p.waited();
      return;
    }
    if (windows_in_slot_ <= trials_.timed_windows()) return;
    trials_.add({trials_.slots()[slot_].threads, std::chrono::duration<double>(now - slot_started_).count(),
                 p.images - images_at_start_, p.waited() - wait_at_start_});
    windows_in_slot_ = 0;
    slot_ = trials_.next_slot(slot_ + 1);
    if (slot_ < trials_.slots().size()) {
      torch::set_num_threads(trials_.slots()[slot_].threads);
    } else {
      conclude(ctx, ctx.epoch);
    }
  }

  // An epoch that ended during the trials decides from those complete.
  void on_epoch_end(auto& ctx) {
    if (measuring_) conclude(ctx, ctx.epoch - 1);  // the trainer has counted the epoch as done already
  }

  // Also after an interrupted epoch: the trainer raises on_fit_end after on_interrupt.
  void on_fit_end(auto&) {
    measuring_ = false;
    if (active_) torch::set_num_threads(start_threads_);
  }

  [[nodiscard]] const std::vector<decision>& decisions() const { return decisions_; }

 private:
  void conclude(auto& ctx, std::int64_t epoch) {
    measuring_ = false;
    decision d{.epoch = epoch, .warm = epoch > first_epoch_, .threads = start_threads_, .trials = trials_.trials(), .line = {}};
    const int chosen = trials_.choice(config.tolerance);
    const std::string which = d.warm ? "warm" : "cold";
    if (!trials_.why_not().empty()) {
      d.line = fmt::format("thread split: epoch {} ({}): not measured, {}; {}", epoch + 1, which, trials_.why_not(),
                           threads_text(start_threads_));
    } else if (chosen == 0) {
      d.line = fmt::format("thread split: epoch {} ({}): the epoch ended before every count was timed; {}", epoch + 1,
                           which, threads_text(start_threads_));
    } else {
      d.threads = chosen;
      std::string figures;
      for (const int n : trials_.counts())
        figures += fmt::format("{}{} {:.1f} images/s (data wait {:.0f} %{})", figures.empty() ? "" : ", ",
                               threads_text(n), trials_.rate(n), 100 * trials_.wait_fraction(n),
                               trials_.dropped(n) ? ", dropped after round 1" : "");
      d.line = fmt::format("thread split: epoch {} ({}), {} rounds of {} windows: {} -> {}{}", epoch + 1, which,
                           trials_.slots().back().round + 1, trials_.timed_windows(), figures, threads_text(chosen),
                           d.warm ? " for the rest of the run" : " for this epoch");
    }
    torch::set_num_threads(d.threads);
    *ctx.log << d.line << "\n";
    decisions_.push_back(std::move(d));
  }

  static std::string threads_text(int n) { return fmt::format("{} thread{}", n, n == 1 ? "" : "s"); }

  thread_trials trials_;
  std::vector<decision> decisions_;
  int start_threads_ = 1;
  std::int64_t first_epoch_ = 0;
  bool active_ = false;
  bool measuring_ = false;
  std::size_t slot_ = 0;
  int windows_in_slot_ = 0;
  std::chrono::steady_clock::time_point slot_started_{};
  std::int64_t images_at_start_ = 0;
  double wait_at_start_ = 0;
};

}  // namespace mixtrain::policy
