#pragma once
// Bounded waits for tests of concurrent code. A deadlock must fail the test
// with a message, not hang until ctest's timeout: `finishes_within` runs a
// body on its own thread and, when the body has not returned within the bound,
// prints which test and what was stuck, then ends the process at once with a
// failure status (a stuck thread can be neither joined nor destroyed, and a
// std::async future would block in its destructor). Bounds are generous (tens
// of seconds for work of milliseconds): they detect hangs, they do not time.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include <catch2/catch.hpp>

namespace mixtrain::testing {

inline constexpr std::chrono::seconds hang_bound{60};

[[noreturn]] inline void fail_hung(const std::string& what, std::chrono::seconds bound) {
  std::string test = "(unknown test)";
  try {
    test = Catch::getResultCapture().getCurrentTestName();
  } catch (...) {
  }
  std::fprintf(stderr, "\nFAILED (watchdog): test \"%s\": %s did not finish within %lld s; deadlock or hang.\n",
               test.c_str(), what.c_str(), static_cast<long long>(bound.count()));
  std::fflush(stderr);
  std::fflush(stdout);
  std::_Exit(EXIT_FAILURE);
}

// Runs body() on a new thread and returns its result (or rethrows its
// exception); ends the process as a failure when it takes longer than `bound`.
template <class F>
auto finishes_within(std::chrono::seconds bound, const std::string& what, F body) -> decltype(body()) {
  using result_t = decltype(body());
  struct shared_state {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    std::exception_ptr error;
    std::conditional_t<std::is_void_v<result_t>, int, std::optional<result_t>> value;
  };
  auto state = std::make_shared<shared_state>();
  std::thread worker([state, body = std::move(body)]() mutable {
    try {
      if constexpr (std::is_void_v<result_t>) body();
      else state->value.emplace(body());
    } catch (...) {
      state->error = std::current_exception();
    }
    std::lock_guard lock(state->mutex);
    state->done = true;
    state->done_cv.notify_all();
  });
  {
    std::unique_lock lock(state->mutex);
    if (!state->done_cv.wait_for(lock, bound, [&] { return state->done; })) fail_hung(what, bound);
  }
  worker.join();
  if (state->error) std::rethrow_exception(state->error);
  if constexpr (!std::is_void_v<result_t>) return std::move(*state->value);
}

// A one-way gate: threads wait until it opens. `wait` is bounded too, so a
// gate that is never opened fails the test instead of hanging it.
class gate {
 public:
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }
  void wait(const std::string& what = "waiting at a gate") {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, hang_bound, [&] { return open_; })) fail_hung(what, hang_bound);
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Waits (bounded) until `condition()` holds; `notify` after each change.
class event_counter {
 public:
  void add(int n = 1) {
    std::lock_guard lock(mutex_);
    count_ += n;
    cv_.notify_all();
  }
  [[nodiscard]] int count() {
    std::lock_guard lock(mutex_);
    return count_;
  }
  void wait_for_at_least(int n, const std::string& what) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, hang_bound, [&] { return count_ >= n; })) fail_hung(what, hang_bound);
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int count_ = 0;
};

}  // namespace mixtrain::testing
