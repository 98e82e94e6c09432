// --multi_gpu and each rank's device (policy/distributed.hpp's
// choose_devices, which app/cli.hpp calls before anything is built). The
// GPU counts are passed in, so the mapping is tested on this CPU machine;
// NCCL itself runs in tests/gpu (one rank).
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include <mixtrain/app/policy_flags.hpp>
#include <mixtrain/policy/distributed.hpp>

namespace mt = mixtrain;

namespace test_device_choice {
namespace {

// Sets (or, with nullptr, unsets) the torchrun variables for one test.
struct rank_variables {
  rank_variables(const char* world_size, const char* rank, const char* local_rank) {
    set("WORLD_SIZE", world_size);
    set("RANK", rank);
    set("LOCAL_RANK", local_rank);
  }
  ~rank_variables() {
    ::unsetenv("WORLD_SIZE");
    ::unsetenv("RANK");
    ::unsetenv("LOCAL_RANK");
  }
  rank_variables(const rank_variables&) = delete;
  rank_variables& operator=(const rank_variables&) = delete;
  static void set(const char* name, const char* value) {
    if (value) ::setenv(name, value, 1);
    else ::unsetenv(name);
  }
};

}  // namespace

TEST_CASE("a rank of a torchrun launch on cuda trains on cuda:LOCAL_RANK, a CPU run stays on the CPU", "[distributed][devices]") {
  mt::policy::distributed policy;
  const rank_variables env("4", "3", "1");
  std::string device = "cuda";
  CHECK(policy.choose_devices(device, false, 2).empty());
  CHECK(device == "cuda:1");
  std::string cpu = "cpu";
  CHECK(policy.choose_devices(cpu, false, 2).empty());
  CHECK(cpu == "cpu");
  std::string fixed = "cuda:0";  // a device the user indexed stays as given
  CHECK(policy.choose_devices(fixed, false, 2).empty());
  CHECK(fixed == "cuda:0");
}

TEST_CASE("a single process on cuda keeps cuda (no WORLD_SIZE)", "[distributed][devices]") {
  mt::policy::distributed policy;
  const rank_variables env(nullptr, nullptr, nullptr);
  std::string device = "cuda";
  CHECK(policy.choose_devices(device, false, 1).empty());
  CHECK(device == "cuda");
  CHECK(policy.config.nproc == 1);
}

TEST_CASE("multi_gpu asks for one rank per visible GPU over NCCL, or says why it cannot", "[distributed][devices]") {
  mt::policy::distributed policy;
  const rank_variables env(nullptr, nullptr, nullptr);
  std::string device = "cpu";
  const auto answer = policy.choose_devices(device, true, 3);
  if (mt::distributed::nccl_built()) {
    CHECK(answer.empty());
    CHECK(device == "cuda");
    CHECK(policy.config.nproc == 3);  // the --nproc launcher starts three ranks
  } else {
    // This build (a CPU LibTorch): the refusal names what is missing, and nothing was changed.
    CHECK_THAT(answer, Catch::Contains("no CUDA"));
    CHECK(device == "cpu");
    CHECK(policy.config.nproc == 1);
  }
  // No GPU at all: the policy leaves the refusal to the command line's sentence.
  std::string untouched = "cpu";
  CHECK(policy.choose_devices(untouched, true, 0).empty());
  CHECK(untouched == "cpu");
  CHECK_THAT(mt::app::multi_gpu_refusal(false, true), Catch::StartsWith("no GPU is visible"));
  CHECK_THAT(mt::app::multi_gpu_refusal(true, false), Catch::Contains("add mt::policy::distributed"));
}

TEST_CASE("a rank inside a multi_gpu launch keeps the launcher's world and takes its own GPU", "[distributed][devices]") {
  mt::policy::distributed policy;
  const rank_variables env("2", "1", "1");
  std::string device = "cpu";
  const auto answer = policy.choose_devices(device, true, 2);
  if (mt::distributed::nccl_built()) {
    CHECK(answer.empty());
    CHECK(device == "cuda:1");
    CHECK(policy.config.nproc == 1);  // a rank starts no ranks of its own
  } else {
    CHECK_FALSE(answer.empty());
  }
}

}  // namespace test_device_choice
