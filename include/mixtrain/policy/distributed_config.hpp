#pragma once
// The distributed policy's settings and flags, apart from the policy
// (policy/distributed.hpp includes c10d and Gloo): app/policy_flags.hpp lists
// these flags for recipes without the policy, at no compile cost.
#include <string_view>
#include <tuple>

#include <mixtrain/core/fields.hpp>

namespace mixtrain::policy {

struct distributed_config {
  int nproc = 1;          // local ranks --nproc starts (1: the environment decides, as under torchrun)
  int timeout_s = 300;    // a collective or the rendezvous waits this long for a rank
  int master_port = 0;    // --nproc's rendezvous port (0: a free one)
  double bucket_mb = 25;  // gradients summed in buckets of this size
  bool sync_batch_norm = false;  // batch_norm_2d layers normalise over the whole global batch

  static constexpr auto fields() {
    using c = distributed_config;
    return std::tuple{
        field{&c::nproc, "nproc", flag{"--nproc", "start N local ranks of data-parallel training (Gloo, CPU)", 1, 1024}},
        field{&c::timeout_s, "timeout_s",
              flag{"--distributed_timeout_s", "seconds a rank waits for the others before failing, naming the late one", 1}},
        field{&c::master_port, "master_port", flag{"--master_port", "rendezvous port for --nproc (0: a free one)", 0, 65535}},
        field{&c::bucket_mb, "bucket_mb", flag{"--bucket_mb", "gradient all-reduce bucket size in MiB", 0.001}},
        field{&c::sync_batch_norm, "sync_batch_norm",
              flag{"--sync_batch_norm", "BatchNorm statistics over every rank's batch (SyncBatchNorm; batch_norm_2d layers)"}}};
  }
};

// Stands for the policy in app/policy_flags.hpp's table (same name, flags).
struct distributed_flags {
  static constexpr std::string_view name = "distributed";
  using config_type = distributed_config;
};

}  // namespace mixtrain::policy
