#pragma once
// Where a rank of a data-parallel run learns its place, and how --nproc N
// starts N local ranks. No c10d here (launching needs none), so this header
// stays cheap. Linux: the launcher re-executes /proc/self/exe with the
// arguments of /proc/self/cmdline.
//
// The environment is torchrun's: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT, so cluster launchers that set them work unchanged.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/core.h>

extern char** environ;

namespace mixtrain::distributed {

struct rank_environment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;

  // From torchrun's variables; nullopt when WORLD_SIZE is unset (a plain,
  // single-process run). Inconsistent values are refused by name.
  static std::optional<rank_environment> from_environment() {
    const char* world = std::getenv("WORLD_SIZE");
    if (world == nullptr || *world == '\0') return std::nullopt;
    rank_environment env;
    env.world_size = number("WORLD_SIZE", 1);
    env.rank = number("RANK", 0);
    env.local_rank = std::getenv("LOCAL_RANK") ? number("LOCAL_RANK", 0) : env.rank;
    if (const char* addr = std::getenv("MASTER_ADDR"); addr && *addr) env.master_addr = addr;
    if (std::getenv("MASTER_PORT")) env.master_port = number("MASTER_PORT", 1);
    if (env.rank >= env.world_size)
      throw std::runtime_error(fmt::format("RANK {} is not below WORLD_SIZE {}", env.rank, env.world_size));
    return env;
  }

 private:
  static int number(const char* name, int minimum) {
    const char* text = std::getenv(name);
    if (text == nullptr) throw std::runtime_error(fmt::format("{} is not set (WORLD_SIZE is: torchrun sets both)", name));
    char* end = nullptr;
    const long value = std::strtol(text, &end, 10);
    if (end == text || *end != '\0' || value < minimum || value > 65535)
      throw std::runtime_error(fmt::format("{}='{}' is not an integer of at least {}", name, text, minimum));
    return static_cast<int>(value);
  }
};

// A TCP port free on the loopback now (the kernel's pick); the store binds it
// moments later.
inline int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("--nproc: no socket for a free port");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("--nproc: could not find a free loopback port");
  return ntohs(address.sin_port);
}

namespace launch_detail {
inline volatile std::sig_atomic_t forwarded_signal = 0;
extern "C" inline void note_signal(int signal_number) { forwarded_signal = signal_number; }

inline std::vector<std::string> own_arguments() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> out;
  for (std::size_t start = 0; start < all.size();) {
    const auto end = all.find('\0', start);
    out.push_back(all.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}
}  // namespace launch_detail

// Runs this executable as `nproc` local ranks and waits for them. Rank 0
// keeps this process's standard output; the others' goes to /dev/null
// (their errors still reach standard error). SIGINT and SIGTERM are passed
// on to every rank once (the ranks run in a process group of their own, so a
// terminal's Ctrl-C reaches them through here only, not twice). When a rank
// fails, the others fail on their own within the timeout (they name it);
// any still running `timeout_s + 30` s later are killed. Should the launcher
// itself be killed, each rank gets SIGTERM (PR_SET_PDEATHSIG). The status is 0 when
// every rank succeeded, else the first failure's.
inline int launch_local_ranks(int nproc, int master_port, int timeout_s) {
  const auto arguments = launch_detail::own_arguments();
  if (arguments.empty()) throw std::runtime_error("--nproc: cannot read /proc/self/cmdline");
  const int port = master_port > 0 ? master_port : free_loopback_port();
  std::vector<std::string> inherited;
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    const auto name = entry.substr(0, entry.find('='));
    if (name != "RANK" && name != "WORLD_SIZE" && name != "LOCAL_RANK" && name != "MASTER_ADDR" && name != "MASTER_PORT" &&
        name != "LOCAL_WORLD_SIZE")
      inherited.push_back(entry);
  }
  // The cores shared out (torchrun sets 1): N ranks of all cores each would
  // oversubscribe the machine N times. --threads or OMP_NUM_THREADS win.
  if (std::getenv("OMP_NUM_THREADS") == nullptr)
    inherited.push_back("OMP_NUM_THREADS=" +
                        std::to_string(std::max(1u, std::thread::hardware_concurrency() / static_cast<unsigned>(nproc))));
  std::vector<char*> argv;
  for (const auto& a : arguments) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::fflush(nullptr);
  std::vector<pid_t> children;
  for (int rank = 0; rank < nproc; ++rank) {
    auto env_strings = inherited;
    const std::vector<std::pair<std::string, std::string>> place{{"RANK", std::to_string(rank)},
                                                                 {"LOCAL_RANK", std::to_string(rank)},
                                                                 {"WORLD_SIZE", std::to_string(nproc)},
                                                                 {"LOCAL_WORLD_SIZE", std::to_string(nproc)},
                                                                 {"MASTER_ADDR", "127.0.0.1"},
                                                                 {"MASTER_PORT", std::to_string(port)}};
    for (const auto& [name, value] : place) env_strings.push_back(name + "=" + value);
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("--nproc: fork failed");
    if (pid == 0) {
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // a launcher killed outright still stops its ranks cleanly
      if (rank != 0) {
        const int null_fd = ::open("/dev/null", O_WRONLY);
        if (null_fd >= 0) ::dup2(null_fd, STDOUT_FILENO);
      }
      ::execve("/proc/self/exe", argv.data(), envp.data());
      ::_exit(127);
    }
    children.push_back(pid);
  }
  const auto previous_int = std::signal(SIGINT, launch_detail::note_signal);
  const auto previous_term = std::signal(SIGTERM, launch_detail::note_signal);
  int status_out = 0, running = nproc;
  bool forwarded = false;
  auto deadline = std::chrono::steady_clock::time_point::max();  // set when a rank fails
  std::vector<bool> done(children.size(), false);
  while (running > 0) {
    if (launch_detail::forwarded_signal != 0 && !forwarded) {
      forwarded = true;
      for (std::size_t i = 0; i < children.size(); ++i)
        if (!done[i]) ::kill(children[i], launch_detail::forwarded_signal);
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (std::size_t i = 0; i < children.size(); ++i)
        if (children[i] == pid) {
          done[i] = true;
          --running;
          const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
          if (code != 0 && status_out == 0) {
            status_out = code;
            std::fprintf(stderr, "--nproc: rank %zu exited with status %d\n", i, code);
            deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s + 30);
          }
        }
      continue;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      for (std::size_t i = 0; i < children.size(); ++i)
        if (!done[i]) {
          std::fprintf(stderr, "--nproc: rank %zu still running %d s after a rank failed; killed\n", i, timeout_s + 30);
          ::kill(children[i], SIGKILL);
        }
      deadline = std::chrono::steady_clock::time_point::max();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::signal(SIGINT, previous_int);
  std::signal(SIGTERM, previous_term);
  return status_out;
}

}  // namespace mixtrain::distributed
