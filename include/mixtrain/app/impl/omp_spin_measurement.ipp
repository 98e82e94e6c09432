#pragma once
// Definitions of the functions declared in <mixtrain/app/omp_spin_measurement.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/app/omp_spin_measurement.hpp>

namespace mixtrain::app {

MIXTRAIN_COLD std::string choose_spincount(const std::vector<spin_timing>& timings) {
  double best_quiet = 0;  // among candidates measured both ways
  for (const auto& t : timings)
    if (t.quiet_s > 0 && t.loaded_s > 0 && (best_quiet == 0 || t.quiet_s < best_quiet)) best_quiet = t.quiet_s;
  std::string chosen;
  double chosen_loaded = 0;
  for (const auto& t : timings) {
    if (t.quiet_s <= 0 || t.loaded_s <= 0 || t.quiet_s > 1.15 * best_quiet) continue;
    if (chosen.empty() || t.loaded_s < chosen_loaded) {
      chosen = t.spincount;
      chosen_loaded = t.loaded_s;
    }
  }
  return chosen;
}

namespace omp_measure_detail {

MIXTRAIN_COLD std::optional<double> child_step_seconds(const std::vector<std::string>& argv, const std::string& spincount,
                                                       double timeout_s) {
  int out[2];
  if (pipe(out) != 0) return std::nullopt;
  const pid_t pid = fork();
  if (pid < 0) return std::nullopt;
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the measuring process
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    if (std::freopen("/dev/null", "w", stderr) == nullptr) _exit(126);
    if (spincount == "libgomp") unsetenv("GOMP_SPINCOUNT");
    else setenv("GOMP_SPINCOUNT", spincount.c_str(), 1);
    unsetenv("OMP_WAIT_POLICY");
    setenv("MIXTRAIN_OPENMP_SETTLED", "1", 1);  // the child neither re-executes nor measures
    setenv("MIXTRAIN_OMP_PROBE", "1", 1);       // it runs the probe workload and exits
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv("/proc/self/exe", args.data());
    _exit(127);
  }
  close(out[1]);
  std::string text;
  const auto start = std::chrono::steady_clock::now();
  char buffer[4096];
  bool finished = false;  // EOF: the child closed its output (it is exiting)
  while (!finished) {     // the child prints one line and a JSON object
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > timeout_s) break;
    pollfd readable{out[0], POLLIN, 0};
    if (poll(&readable, 1, 100) <= 0) continue;
    const auto n = read(out[0], buffer, sizeof buffer);
    if (n <= 0) finished = true;
    else text.append(buffer, static_cast<std::size_t>(n));
  }
  close(out[0]);
  int status = 0;
  if (!finished) kill(pid, SIGKILL);  // timed out
  waitpid(pid, &status, 0);
  if (!finished) return std::nullopt;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.front() != '{') continue;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.contains("median_step_s")) return j["median_step_s"].get<double>();
  }
  return std::nullopt;
}

}  // namespace omp_measure_detail

MIXTRAIN_COLD std::string measured_spincount(const std::string& recipe, const std::string& fallback) {
  const auto key = machine_key(recipe);
  const auto file = machine_cache_file("omp-spincount", key);
  const auto cached = read_machine_cache("omp-spincount", key, "omp_spincount");
  if (cached && (*cached)["omp_spincount"].is_string()) return (*cached)["omp_spincount"].get<std::string>();
  std::cerr << "OpenMP: measuring the spin count for this machine (once; cached in " << file.string() << ")\n";
  // About a second per child; a child over its cap ends the measurement (the fallback).
  const std::vector<std::string> argv = {recipe};
  constexpr double child_cap_s = 15, total_cap_s = 45;
  const auto started = std::chrono::steady_clock::now();
  std::vector<spin_timing> timings;
  nlohmann::json measured = nlohmann::json::array();
  for (const std::string candidate : {"libgomp", "1000", "0"}) {
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() > total_cap_s) break;
    spin_timing t{candidate};
    if (const auto s = omp_measure_detail::child_step_seconds(argv, candidate, child_cap_s)) t.quiet_s = *s;
    else if (timings.empty()) break;  // the probe cannot run here, or too slowly: the fallback
    const pid_t busy = fork();  // one core taken
    if (busy == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      volatile unsigned long spin = 0;
      while (true) spin = spin + 1;
    }
    if (const auto s = omp_measure_detail::child_step_seconds(argv, candidate, child_cap_s)) t.loaded_s = *s;
    if (busy > 0) {
      kill(busy, SIGKILL);
      waitpid(busy, nullptr, 0);
    }
    timings.push_back(t);
    measured.push_back({{"omp_spincount", t.spincount}, {"quiet_step_s", t.quiet_s}, {"loaded_step_s", t.loaded_s}});
  }
  auto chosen = choose_spincount(timings);
  nlohmann::json record = {{"key", key}, {"measured", measured}, {"how", "3 convolutions 32x128x128, batch 2, forward+backward: median of 12 after 3"}};
  if (chosen.empty()) {
    chosen = fallback;
    record["error"] = "the probe did not run in a child process; using the compiled default";
  }
  record["omp_spincount"] = chosen;
  std::cerr << "OpenMP: spin count " << chosen << " (" << measured.dump() << ")\n";
  write_machine_cache("omp-spincount", record);
  return chosen;
}

}  // namespace mixtrain::app
