#pragma once
// One process's membership in a data-parallel run, on LibTorch's own c10d:
// a TCPStore for the rendezvous (rank 0 serves it) and a process group for
// the collectives, each bounded by the run's timeout: Gloo on the CPU, NCCL
// when the run's device is a CUDA device and the build has NCCL
// (core/nccl_backend.hpp; a CUDA device without it is refused by name). Only recipes that
// hold mt::policy::distributed include this header (c10d and Gloo cost
// compile time).
//
// A failed or timed-out collective names the rank at fault: every rank
// publishes a heartbeat to the store from a thread of its own (a counter and
// the number of collectives it has entered), and the rank that sees the
// failure reads them twice, a few beats apart: a rank whose counter stopped
// is dead (or stopped); one alive but behind in collectives hangs. A rank
// that cannot reach the store at all has lost rank 0, which serves it. After
// a failure the group and the store are abandoned, not destroyed: their
// destructors may wait for peers that will never answer.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>
#include <torch/torch.h>
// Debian's TorchConfig passes -DUSE_C10D_GLOO to CMake consumers, a Python
// torch's does not, and without it ProcessGroupGloo.hpp declares nothing.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <mixtrain/core/compat.hpp>
#include <mixtrain/core/distributed_launch.hpp>
#include <mixtrain/core/nccl_backend.hpp>

namespace mixtrain::distributed {

class process_group {
 public:
  // `device`: the run's device on this rank (cuda:LOCAL_RANK with NCCL).
  process_group(const rank_environment& env, std::chrono::milliseconds timeout, torch::Device device = torch::kCPU)
      : env_(env), timeout_(timeout), device_(device.is_cuda() ? device : torch::Device(torch::kCPU)),
        backend_name_(device.is_cuda() ? "NCCL" : "Gloo") {
    if (device.is_cuda() && !nccl_built())
      throw std::runtime_error(fmt::format("rank {}: the run's device is {}, whose ranks need NCCL, but {}", env.rank,
                                           device.str(), nccl_unavailable_reason()));
    try {
      c10d::TCPStoreOptions options;
      options.port = static_cast<std::uint16_t>(env.master_port);
      options.isServer = env.rank == 0;
      options.numWorkers = static_cast<std::size_t>(env.world_size);
      options.waitWorkers = true;
      options.timeout = timeout;
      store_ = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
      if (device_.is_cuda()) {
#ifdef MIXTRAIN_WITH_NCCL
        group_ = make_nccl_backend(store_, env.rank, env.world_size, timeout, device_);
#endif
      } else {
        auto gloo = c10d::ProcessGroupGloo::Options::create(timeout);
        gloo->devices.push_back(device_for(env.master_addr));
        group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, env.rank, env.world_size, gloo);
      }
    } catch (const std::exception& e) {
      abandon();
      throw std::runtime_error(fmt::format(
          "rank {}: could not join the {} ranks at {}:{} within --distributed_timeout_s {} ({}): is every rank "
          "started, with the same MASTER_ADDR, MASTER_PORT and WORLD_SIZE?",
          env.rank, env.world_size, env.master_addr, env.master_port, timeout.count() / 1000, first_line(e.what())));
    }
    heartbeat_ = std::thread([this] { beat(); });
  }
  process_group(const process_group&) = delete;
  process_group& operator=(const process_group&) = delete;
  ~process_group() {
    stopping_ = true;
    if (heartbeat_.joinable()) heartbeat_.join();
    if (broken_) abandon();
  }

  [[nodiscard]] int rank() const { return env_.rank; }
  [[nodiscard]] int size() const { return env_.world_size; }
  // Where the collectives' tensors must live: the CUDA device for NCCL, the
  // CPU for Gloo.
  [[nodiscard]] torch::Device device() const { return device_; }
  [[nodiscard]] const char* backend_name() const { return backend_name_; }

  // Sums each tensor over the ranks, in place. All are launched before the
  // first wait, so Gloo may move one while the next is summed.
  void all_reduce_sum(std::vector<torch::Tensor>& tensors, const char* what) {
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    run(what, [&] {
      for (auto& t : tensors) {
        std::vector<torch::Tensor> one{t};
        ++collectives_;
        works.push_back(group_->allreduce(one));
      }
      for (auto& w : works) w->wait();
    });
  }

  // Sums `values` over the ranks in place, wherever it lives: through a copy
  // on the group's device when it is elsewhere (NCCL sums device tensors).
  void sum_through_device(torch::Tensor& values, const char* what) {
    std::vector<torch::Tensor> wire{values.to(device_)};
    all_reduce_sum(wire, what);
    if (!wire.front().is_same(values)) values.copy_(wire.front());
  }

  // Starts summing `t` over the ranks, in place (from an autograd hook, so
  // that it overlaps the rest of backward); wait_started() waits for all.
  void start_sum(const torch::Tensor& t, const char* what) {
    run(what, [&] {
      std::vector<torch::Tensor> one{t};
      ++collectives_;
      started_.push_back(group_->allreduce(one));
    });
  }
  void wait_started(const char* what) {
    run(what, [&] {
      for (auto& w : started_) w->wait();
    });
    started_.clear();
  }

  // Rank 0's values into every rank's tensors, in place.
  void broadcast_from_zero(std::vector<torch::Tensor>& tensors, const char* what) {
    run(what, [&] {
      std::vector<c10::intrusive_ptr<c10d::Work>> works;
      for (auto& t : tensors) {
        std::vector<torch::Tensor> one{t};
        ++collectives_;
        works.push_back(group_->broadcast(one));
      }
      for (auto& w : works) w->wait();
    });
  }

 private:
  static std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

  // GLOO_SOCKET_IFNAME names the interface (as in PyTorch); loopback for a
  // single machine; else the address this machine's hostname resolves to.
  static std::shared_ptr<::gloo::transport::Device> device_for(const std::string& master_addr) {
    if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME"); interface && *interface)
      return c10d::ProcessGroupGloo::createDeviceForInterface(interface);
    if (master_addr == "localhost" || master_addr.rfind("127.", 0) == 0)
      return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
    return c10d::ProcessGroupGloo::createDefaultDevice();
  }

  template <class F>
  void run(const char* what, F&& f) {
    if (broken_) throw std::runtime_error(fmt::format("rank {}: the process group failed earlier", env_.rank));
    const auto started = std::chrono::steady_clock::now();
    try {
      f();
    } catch (const std::exception& e) {
      broken_ = true;
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      throw std::runtime_error(fmt::format("rank {}: {} failed after {:.1f} s: {} ({}: {})", env_.rank, what, seconds,
                                           diagnose(), backend_name_, first_line(e.what())));
    }
  }

  static constexpr auto beat_period = std::chrono::milliseconds(500);

  // Its own store client: the group's is not shared between threads.
  void beat() {
    std::unique_ptr<c10d::TCPStore> client;
    try {
      c10d::TCPStoreOptions options;
      options.port = static_cast<std::uint16_t>(env_.master_port);
      options.waitWorkers = false;
      options.timeout = timeout_;
      client = std::make_unique<c10d::TCPStore>(env_.master_addr, options);
    } catch (...) {
      return;  // no heartbeat: a failure will then be reported without a culprit
    }
    std::int64_t count = 0;
    while (!stopping_) {
      try {
        const auto text = fmt::format("{} {}", ++count, collectives_.load());
        client->set(key(env_.rank), std::vector<std::uint8_t>(text.begin(), text.end()));
      } catch (...) {
        (void)client.release();  // the server (rank 0) is gone; its destructor could block
        return;
      }
      for (auto waited = std::chrono::milliseconds(0); waited < beat_period && !stopping_; waited += std::chrono::milliseconds(50))
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  static std::string key(int rank) { return "mixtrain/heartbeat/" + std::to_string(rank); }

  struct beat_reading {
    std::int64_t count = -1;  // -1: none published
    std::int64_t collectives = 0;
  };
  static std::optional<std::vector<beat_reading>> read_beats(c10d::TCPStore& client, int world_size) {
    std::vector<beat_reading> out(static_cast<std::size_t>(world_size));
    try {
      for (int r = 0; r < world_size; ++r) {
        if (!client.check({key(r)})) continue;
        const auto bytes = client.get(key(r));
        const std::string text(bytes.begin(), bytes.end());
        std::sscanf(text.c_str(), "%ld %ld", &out[static_cast<std::size_t>(r)].count,
                    &out[static_cast<std::size_t>(r)].collectives);
      }
    } catch (...) {
      return std::nullopt;
    }
    return out;
  }

  // Which rank is at fault, from two readings of the heartbeats.
  std::string diagnose() {
    std::unique_ptr<c10d::TCPStore> client;
    const std::string lost_zero = "rank 0 is gone (it serves the rendezvous store, which no longer answers)";
    try {
      c10d::TCPStoreOptions options;
      options.port = static_cast<std::uint16_t>(env_.master_port);
      options.waitWorkers = false;
      options.timeout = std::chrono::milliseconds(3000);
      client = std::make_unique<c10d::TCPStore>(env_.master_addr, options);
    } catch (...) {
      return lost_zero;
    }
    const auto first = read_beats(*client, env_.world_size);
    std::this_thread::sleep_for(4 * beat_period + std::chrono::milliseconds(200));
    const auto second = read_beats(*client, env_.world_size);
    (void)client.release();
    if (!first || !second) return lost_zero;
    std::vector<int> dead, behind;
    for (int r = 0; r < env_.world_size; ++r) {
      if (r == env_.rank) continue;
      const auto& a = (*first)[static_cast<std::size_t>(r)];
      const auto& b = (*second)[static_cast<std::size_t>(r)];
      if (b.count < 0 || b.count == a.count) dead.push_back(r);
      else if (b.collectives < collectives_.load()) behind.push_back(r);
    }
    const auto names = [](const std::vector<int>& ranks) {
      std::string s;
      for (const int r : ranks) s += (s.empty() ? "" : ", ") + std::to_string(r);
      return s;
    };
    if (!dead.empty())
      return fmt::format("rank {} stopped responding (no heartbeat for {} ms: dead or stopped)", names(dead),
                         4 * beat_period.count());
    if (!behind.empty())
      return fmt::format("rank {} is alive but did not reach this collective within the timeout (hung or much slower)",
                         names(behind));
    return "every other rank is alive and reached this collective; see their own errors";
  }

  // Leaves the store and group undestroyed (see the header comment).
  void abandon() {
    (void)group_.release();
    (void)store_.release();
  }

  rank_environment env_;
  std::chrono::milliseconds timeout_;
  torch::Device device_;
  const char* backend_name_;
  c10::intrusive_ptr<c10d::TCPStore> store_;
  c10::intrusive_ptr<compat::c10d_backend> group_;  // Gloo or NCCL
  std::atomic<std::int64_t> collectives_{0};
  std::vector<c10::intrusive_ptr<c10d::Work>> started_;
  std::atomic<bool> stopping_{false};
  bool broken_ = false;
  std::thread heartbeat_;
};

}  // namespace mixtrain::distributed
