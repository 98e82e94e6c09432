#pragma once
// `--omp_spincount auto` (the default): the spin count is measured on the
// machine that runs, once, and cached. Each candidate runs a short convolution
// workload (app/omp_probe.hpp) in a child process of this executable (libgomp
// reads the count when it loads), alone and beside one busy-loop process; the choice is
// the candidate with the shortest loaded step among those within 15 % of the
// best quiet step. The cache key is the CPU model and flags, the core count,
// the LibTorch version and the recipe, so another machine measures afresh.
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <mixtrain/core/machine_cache.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::app {

struct spin_timing {
  std::string spincount;  // a count, or "libgomp"
  double quiet_s = 0;     // median step alone
  double loaded_s = 0;    // median step beside one busy core
};

// Within 15 % of the best quiet step (the target alone), the shortest loaded step wins; ties go
// to the earlier candidate. Empty when nothing was measured.
MIXTRAIN_COLD std::string choose_spincount(const std::vector<spin_timing>& timings);

namespace omp_measure_detail {

// Runs argv with GOMP_SPINCOUNT set (unset for "libgomp") and returns the
// median_step_s of its JSON line; nullopt on failure or timeout.
MIXTRAIN_COLD std::optional<double> child_step_seconds(const std::vector<std::string>& argv, const std::string& spincount,
                                                       double timeout_s);

}  // namespace omp_measure_detail

// The cached choice for this machine and recipe, measuring it first when absent.
// `fallback` is used (and cached, with the reason) when the measurement fails.
MIXTRAIN_COLD std::string measured_spincount(const std::string& recipe, const std::string& fallback);

}  // namespace mixtrain::app

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/app/impl/omp_spin_measurement.ipp>
#endif
