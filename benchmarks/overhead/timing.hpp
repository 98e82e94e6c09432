// bench_overhead: clocks, medians and the per-step timing of one side.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <vector>

namespace bench_overhead {

using clock_type = std::chrono::steady_clock;

inline double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

// CPU time of the calling thread: with one LibTorch thread, forward, backward
// and optimizer all run here, and time spent descheduled by other processes
// on a shared machine does not count.
inline double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

inline double minimum(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

// Step times of one side in one block: wall clock and this thread's CPU time.
struct side_times {
  std::vector<double> wall, cpu;
  [[nodiscard]] double wall_ms() const { return 1e3 * median(wall); }
  [[nodiscard]] double cpu_ms() const { return 1e3 * median(cpu); }
  [[nodiscard]] double min_ms() const { return 1e3 * minimum(wall); }
};

template <class Work>
void timed(side_times& into, Work&& work) {
  const double cpu_start = thread_cpu_seconds();
  const auto start = clock_type::now();
  work();
  into.wall.push_back(seconds_since(start));
  into.cpu.push_back(thread_cpu_seconds() - cpu_start);
}

inline std::vector<double> spread(const std::vector<double>& v) {
  return {*std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end())};
}

inline double load_average() {
  double load[1] = {0};
  return ::getloadavg(load, 1) == 1 ? load[0] : -1.0;
}
}  // namespace bench_overhead
