#pragma once
// Definitions of the functions declared in <mixtrain/app/openmp_env.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/app/openmp_env.hpp>

namespace mixtrain::app {

MIXTRAIN_COLD std::string omp_spincount_argument(int argc, char** argv) {
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

MIXTRAIN_COLD bool valid_omp_spincount(std::string_view v) {
  if (v == "libgomp" || v == "auto") return true;
  if (v.empty() || v.size() > 18) return false;
  for (char ch : v)
    if (ch < '0' || ch > '9') return false;
  return true;
}

MIXTRAIN_COLD std::string effective_omp_spincount() {
  if (const char* count = std::getenv("GOMP_SPINCOUNT")) return count;
  if (const char* policy = std::getenv("OMP_WAIT_POLICY")) return std::string("policy ") + policy;
  return "libgomp";
}

MIXTRAIN_COLD void settle_openmp_wait_policy(int argc, char** argv) {
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
