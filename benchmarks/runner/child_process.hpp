#pragma once
// mixtrain-bench's child processes: a variant run with its output in files
// and a deadline, and busy-loop processes that hold cores ("one core taken").
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

namespace mixtrain::bench_runner {

struct process_result {
  int status = -1;  // exit status; 128 + signal when killed
  bool timed_out = false;
  std::string out, err;
};

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs argv with stdout and stderr to files in `scratch`. After timeout_s it
// gets `stop_signal`; a process still there grace_s later is killed.
inline process_result run_process(const std::vector<std::string>& argv, const std::filesystem::path& scratch,
                                  double timeout_s, int stop_signal = SIGKILL, double grace_s = 0) {
  const auto out_path = scratch / "stdout.txt", err_path = scratch / "stderr.txt";
  process_result r;
  const pid_t pid = fork();
  if (pid == 0) {
    if (!std::freopen(out_path.c_str(), "w", stdout) || !std::freopen(err_path.c_str(), "w", stderr)) _exit(126);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    std::fprintf(stderr, "cannot execute %s\n", args[0]);
    _exit(127);
  }
  if (pid < 0) {
    r.err = "fork failed";
    return r;
  }
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  bool stopping = false;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!stopping && elapsed > timeout_s) {
      kill(pid, stop_signal);
      stopping = r.timed_out = true;
    }
    if (stopping && elapsed > timeout_s + grace_s) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_text(out_path);
  r.err = read_text(err_path);
  return r;
}

// The last few non-empty lines of stderr: the error as the variant told it.
inline std::string error_of(const process_result& p) {
  std::vector<std::string> lines;
  std::istringstream in(p.err);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  std::string tail;
  for (auto i = lines.size() > 3 ? lines.size() - 3 : 0; i < lines.size(); ++i) tail += (tail.empty() ? "" : " / ") + lines[i];
  const std::string status = p.timed_out ? "timed out" : fmt::format("exit status {}", p.status);
  return tail.empty() ? status : status + ": " + tail;
}

// Busy-loop child processes: the load of "one core taken".
class busy_load {
 public:
  busy_load() = default;
  busy_load(const busy_load&) = delete;
  busy_load& operator=(const busy_load&) = delete;
  ~busy_load() { set(0); }

  void set(int cores) {
    while (static_cast<int>(children_.size()) > cores) {
      kill(children_.back(), SIGKILL);
      waitpid(children_.back(), nullptr, 0);
      children_.pop_back();
    }
    while (static_cast<int>(children_.size()) < cores) {
      const pid_t pid = fork();
      if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the runner
        volatile unsigned long spin = 0;
        while (true) spin = spin + 1;
      }
      if (pid < 0) throw std::runtime_error("--busy_cores: fork failed");
      children_.push_back(pid);
    }
  }

 private:
  std::vector<pid_t> children_;
};

}  // namespace mixtrain::bench_runner
