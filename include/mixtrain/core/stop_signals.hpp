#pragma once
// SIGINT and SIGTERM during fit: the first one is only noted, and the loop
// stops at the next accumulation-window end with a recovery checkpoint (a
// clean exit, status 0); the handler restores the default action at once, so
// a second signal ends the process immediately. Every recipe gets this from
// the loop; no policy is needed.
#include <csignal>

namespace mixtrain {

namespace stop_signals_detail {

inline volatile std::sig_atomic_t pending = 0;

// Records the signal (all a handler may safely do) and restores the default
// action, so a second signal is not swallowed.
extern "C" inline void note(int signal_number) {
  pending = signal_number;
  std::signal(signal_number, SIG_DFL);
}

}  // namespace stop_signals_detail

// Installs the handlers for its lifetime (one fit) and restores the previous
// ones after; a signal that arrives is read with pending().
class stop_signals {
 public:
  stop_signals() {
    stop_signals_detail::pending = 0;
    previous_int_ = std::signal(SIGINT, stop_signals_detail::note);
    previous_term_ = std::signal(SIGTERM, stop_signals_detail::note);
  }
  ~stop_signals() {
    // Only where ours is still installed: after a first signal the default
    // action stays until the process ends, so a second one still kills.
    restore_if_ours(SIGINT, previous_int_);
    restore_if_ours(SIGTERM, previous_term_);
    stop_signals_detail::pending = 0;
  }
  stop_signals(const stop_signals&) = delete;
  stop_signals& operator=(const stop_signals&) = delete;

  // The first signal received since installation, 0 if none.
  [[nodiscard]] static int pending() { return stop_signals_detail::pending; }

  [[nodiscard]] static const char* describe(int signal_number) {
    return signal_number == SIGTERM ? "SIGTERM received" : signal_number == SIGINT ? "SIGINT received" : "signal received";
  }

 private:
  static void restore_if_ours(int signal_number, void (*previous)(int)) {
    const auto current = std::signal(signal_number, previous);
    if (current != stop_signals_detail::note) std::signal(signal_number, current);
  }

  void (*previous_int_)(int) = SIG_DFL;
  void (*previous_term_)(int) = SIG_DFL;
};

}  // namespace mixtrain
