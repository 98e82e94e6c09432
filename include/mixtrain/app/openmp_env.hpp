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

namespace mixtrain::app {

// Used when the measurement cannot run (a recipe without `bench step`): short
// spinning, a compromise between the machines measured (docs/benchmarks.md).
inline constexpr std::string_view fallback_omp_spincount = "1000";
inline constexpr const char* omp_settled_variable = "MIXTRAIN_OPENMP_SETTLED";

// The value given to --omp_spincount on the command line, "" when absent.
inline std::string omp_spincount_argument(int argc, char** argv) {
  constexpr std::string_view flag = "--omp_spincount";
  std::string value;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--") break;
    if (a == flag && i + 1 < argc) value = argv[i + 1];
    else if (a.size() > flag.size() && a.substr(0, flag.size() + 1) == std::string(flag) + "=")
      value = std::string(a.substr(flag.size() + 1));
  }
  return value;
}

// Whether a --omp_spincount value is valid: a non-negative integer, "auto" or "libgomp".
inline bool valid_omp_spincount(std::string_view v) {
  if (v == "libgomp" || v == "auto") return true;
  if (v.empty() || v.size() > 18) return false;
  for (char ch : v)
    if (ch < '0' || ch > '9') return false;
  return true;
}

// What GOMP_SPINCOUNT libgomp read at start ("libgomp" when it used its own
// default, "passive" for OMP_WAIT_POLICY=PASSIVE without a count).
inline std::string effective_omp_spincount() {
  if (const char* count = std::getenv("GOMP_SPINCOUNT")) return count;
  if (const char* policy = std::getenv("OMP_WAIT_POLICY")) return std::string("policy ") + policy;
  return "libgomp";
}

// Re-executes this program once with the wanted spin setting when libgomp
// loaded with another; returns when nothing needs to change (or exec failed).
inline void settle_openmp_wait_policy(int argc, char** argv) {
  if (std::getenv(omp_settled_variable) != nullptr) {  // we are the re-executed process
    unsetenv(omp_settled_variable);  // children decide afresh (they inherit GOMP_SPINCOUNT)
    return;
  }
  if (argc < 1) return;
  std::string wanted = omp_spincount_argument(argc, argv);
  if (!wanted.empty() && !valid_omp_spincount(wanted)) return;  // the CLI reports it with the flag's name
  const char* count = std::getenv("GOMP_SPINCOUNT");
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  if (wanted.empty()) {
    if (count != nullptr || policy != nullptr) return;  // the user's choice
    wanted = "auto";
  }
  if (wanted == "auto") {
    const std::string_view self = argv[0];
    const auto slash = self.rfind('/');
    wanted = measured_spincount(std::string(slash == std::string_view::npos ? self : self.substr(slash + 1)),
                                std::string(fallback_omp_spincount));
  }
  if (wanted == "libgomp") {
    if (count == nullptr && policy == nullptr) return;
    unsetenv("GOMP_SPINCOUNT");
    unsetenv("OMP_WAIT_POLICY");
  } else {
    if (count != nullptr && wanted == count && policy == nullptr) return;
    setenv("GOMP_SPINCOUNT", wanted.c_str(), 1);
    unsetenv("OMP_WAIT_POLICY");
  }
  setenv(omp_settled_variable, "1", 1);
  execv("/proc/self/exe", argv);
  std::cerr << "note: could not re-execute with GOMP_SPINCOUNT=" << wanted << " (" << std::strerror(errno)
            << "); OpenMP keeps the setting it started with\n";
}

}  // namespace mixtrain::app
