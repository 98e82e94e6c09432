// One training process for the data-parallel tests (test_distributed.cpp
// starts several): a tiny model on a synthetic Aariz tree, without BatchNorm,
// or with batch_norm_2d layers (bn=1), synchronised with sync_bn=1.
//   distributed_worker reference|rank <data> <out> [batch=N] [accumulate=N] [epochs=N] [timeout=S]
//                      [bn=0|1] [sync_bn=0|1]
// `reference` is one plain process: the recipe without the distributed policy.
// `rank` holds mt::policy::distributed and takes its rank from WORLD_SIZE,
// RANK, MASTER_ADDR and MASTER_PORT. Some landmarks are marked missing, the
// same in both. At the end rank 0 (or the reference) saves the weights to
// <out>/weights.pt (with the BatchNorm running statistics after the
// parameters) and every process prints where it stopped and how many
// images it scored in its last validation.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <string_view>

#include <torch/torch.h>

#include <mixtrain/core/recipe.hpp>
#include <mixtrain/core/trainer.hpp>
#include <mixtrain/data/aariz.hpp>
#include <mixtrain/loss/heatmap_mse.hpp>
#include <mixtrain/model/batch_norm.hpp>
#include <mixtrain/optim/adamw.hpp>
#include <mixtrain/policy/accumulate.hpp>
#include <mixtrain/policy/distributed.hpp>
#include <mixtrain/task/landmark_heatmaps.hpp>

#include "../policy/policy_test_support.hpp"

namespace mt = mixtrain;
namespace hana = boost::hana;

namespace {

// Convolutions only (tiny_spec of the policy tests): BatchNorm keeps per-rank
// statistics (docs/distributed.md).
using policy_test::tiny_spec;

// tiny_spec's convolutions with a batch_norm_2d after each of the first two.
struct tiny_bn_netImpl : torch::nn::Cloneable<tiny_bn_netImpl> {
  explicit tiny_bn_netImpl(std::int64_t landmarks_) : landmarks(landmarks_) { reset(); }
  void reset() override {
    a = register_module("a", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 8, 3).stride(2).padding(1).bias(false)));
    a_norm = register_module("a_norm", mt::model::batch_norm_2d(8));
    b = register_module("b", torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 8, 3).stride(2).padding(1).bias(false)));
    b_norm = register_module("b_norm", mt::model::batch_norm_2d(8));
    head = register_module("head", torch::nn::Conv2d(torch::nn::Conv2dOptions(8, landmarks, 1)));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return head(torch::relu(b_norm(b(torch::relu(a_norm(a(x)))))));
  }
  std::int64_t landmarks;
  torch::nn::Conv2d a{nullptr}, b{nullptr}, head{nullptr};
  mt::model::batch_norm_2d a_norm{nullptr}, b_norm{nullptr};
};
TORCH_MODULE(tiny_bn_net);
struct tiny_bn_spec {
  static constexpr std::string_view name = "tiny_bn_net";
  static constexpr int output_stride = 4;
  static tiny_bn_net build(const mt::model::build_options& options) { return tiny_bn_net(options.num_landmarks); }
};

// The images this process scored in its last validation: its shard.
struct evaluation_counter {
  static constexpr std::string_view name = "evaluation_counter";
  std::int64_t images = 0;
  void on_evaluation_batch(auto&, const mt::batch_progress& p) { images = p.images; }
};

template <class Model, class... Policies>
using tiny_recipe = mt::recipe<Model, mt::data::aariz<{.image_size = {32, 32}}>, mt::task::landmark_heatmaps<>,
                               mt::optim::adamw<{.lr = 1e-2, .weight_decay = 1e-4}>, mt::policy::accumulate<{.steps = 1}>,
                               evaluation_counter, Policies...>;

// Every third landmark of every other image missing, by dataset position.
void mark_missing(mt::data::split& split) {
  for (std::size_t i = 0; i < split.images.size(); i += 2)
    for (std::size_t j = i % 3; j < split.images[i].present.size(); j += 3) split.images[i].present[j] = 0;
}

template <class Recipe>
int train(const std::filesystem::path& data, const std::filesystem::path& out, std::map<std::string, int> options) {
  mt::trainer<Recipe> t;
  t.run.fit.epochs = options["epochs"];
  t.run.fit.batch_size = options["batch"];
  t.run.fit.num_workers = 1;
  t.run.fit.prefetch_batches = 2;
  t.run.fit.cache_mb = 0;
  t.run.fit.seed = 3;
  t.run.output_dir = out;
  torch::manual_seed(static_cast<std::uint64_t>(11 + options["init_seed"]));  // a rank's own init: rank 0's must win
  hana::for_each(t.policies, [&](auto& p) {
    if constexpr (requires { p.config.steps; }) p.config.steps = options["accumulate"];
    if constexpr (requires { p.config.timeout_s; }) {
      p.config.timeout_s = options["timeout"];
      p.config.bucket_mb = 0.001;  // a few buckets even for this tiny model: the hooks start them one by one
      p.config.sync_batch_norm = options["sync_bn"] != 0;
    }
  });
  mt::data::landmark_set landmarks;
  auto train_split = t.data.read_split(data, "train", landmarks);
  auto valid_split = t.data.read_split(data, "valid", landmarks);
  mark_missing(train_split);
  t.build(landmarks);
  std::filesystem::create_directories(out);
  const auto result = t.fit(train_split, valid_split);
  auto& c = t.ctx();
  if (c.writes_files()) {
    std::vector<torch::Tensor> weights;
    for (const auto& p : t.model()->named_parameters(true)) weights.push_back(p.value().detach().clone());
    for (const auto& b : t.model()->named_buffers(true))
      if (b.value().is_floating_point()) weights.push_back(b.value().detach().clone());
    torch::save(weights, (out / "weights.pt").string());
  }
  hana::for_each(t.policies, [](const auto& p) {
    if constexpr (requires { p.images; }) std::cout << "validated " << p.images << " images here\n";
  });
  std::cout << "worker rank " << c.rank << " of " << c.world_size << ": epoch " << c.epoch << " batch "
            << c.batch_in_epoch << " step " << c.global_step << (result.interrupted_by_signal ? " interrupted" : "")
            << "\n"
            << std::flush;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 4) throw std::runtime_error("usage: distributed_worker reference|rank <data> <out> [key=value...]");
    const std::string mode = argv[1];
    std::map<std::string, int> options{{"batch", 2}, {"accumulate", 1}, {"epochs", 2}, {"timeout", 30}, {"init_seed", 0},
                                         {"bn", 0}, {"sync_bn", 0}};
    for (int i = 4; i < argc; ++i) {
      const std::string a = argv[i];
      const auto eq = a.find('=');
      options[a.substr(0, eq)] = std::stoi(a.substr(eq + 1));
    }
    if (const char* rank = std::getenv("RANK")) options["init_seed"] = std::atoi(rank);
    torch::set_num_threads(1);
    const bool reference = mode == "reference";
    if (options["bn"] != 0)
      return reference ? train<tiny_recipe<tiny_bn_spec>>(argv[2], argv[3], options)
                       : train<tiny_recipe<tiny_bn_spec, mt::policy::distributed>>(argv[2], argv[3], options);
    return reference ? train<tiny_recipe<tiny_spec>>(argv[2], argv[3], options)
                     : train<tiny_recipe<tiny_spec, mt::policy::distributed>>(argv[2], argv[3], options);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
