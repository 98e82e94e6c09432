#pragma once
// OpenMP's wait policy, settled before LibTorch's first parallel region.
// LibTorch's intra-op threads are libgomp threads that spin ~300000 times
// (a few ms) before sleeping; when anything else holds a core (a compiler, the
// recipe's own data workers) a spinning thread burns the time slice its
// partner needs and a step gets 8x slower. libgomp reads GOMP_SPINCOUNT and
// OMP_WAIT_POLICY once, when it loads before main, so a setting of our own
// needs the process to re-execute itself with the variable set (same PID,
// same arguments). The default is measured on the machine that runs and
// cached (app/omp_spin_measurement.hpp; docs/benchmarks.md, "Threads and the
// OpenMP wait policy").
//
//   --omp_spincount auto     the default: this machine's measured choice
//   --omp_spincount N        GOMP_SPINCOUNT=N (0 sleeps at once, like PASSIVE)
//   --omp_spincount libgomp  libgomp's own default (spin ~300000)
// Without the flag, a user's OMP_WAIT_POLICY or GOMP_SPINCOUNT is respected.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>

#include <mixtrain/app/omp_spin_measurement.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::app {

// Used when the measurement cannot run (a recipe without `bench step`): short
// spinning, a compromise between the machines measured (docs/benchmarks.md).
inline constexpr std::string_view fallback_omp_spincount = "1000";
inline constexpr const char* omp_settled_variable = "MIXTRAIN_OPENMP_SETTLED";

// The value given to --omp_spincount on the command line, "" when absent.
MIXTRAIN_COLD std::string omp_spincount_argument(int argc, char** argv);

// Whether a --omp_spincount value is valid: a non-negative integer, "auto" or "libgomp".
MIXTRAIN_COLD bool valid_omp_spincount(std::string_view v);

// What GOMP_SPINCOUNT libgomp read at start ("libgomp" when it used its own
// default, "passive" for OMP_WAIT_POLICY=PASSIVE without a count).
MIXTRAIN_COLD std::string effective_omp_spincount();

// Re-executes this program once with the wanted spin setting when libgomp
// loaded with another; returns when nothing needs to change (or exec failed).
MIXTRAIN_COLD void settle_openmp_wait_policy(int argc, char** argv);

}  // namespace mixtrain::app

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/app/impl/openmp_env.ipp>
#endif
