// bench_overhead: what both sides share: scratch space, host batches, the
// models and the two recipes (empty, and aariz_full's policy list).
#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <random>
#include <streambuf>
#include <string>
#include <string_view>
#include <system_error>

#include <unistd.h>

#include <boost/hana.hpp>
#include <torch/torch.h>

#include <mixtrain/core/trainer.hpp>
#include <mixtrain/data/aariz.hpp>
#include <mixtrain/model/compact_unet.hpp>
#include <mixtrain/optim/adamw.hpp>
#include <mixtrain/policy/accumulate.hpp>
#include <mixtrain/policy/amp.hpp>
#include <mixtrain/policy/channels_last.hpp>
#include <mixtrain/policy/checkpoint.hpp>
#include <mixtrain/policy/early_stopping.hpp>
#include <mixtrain/policy/ema.hpp>
#include <mixtrain/policy/grad_clip.hpp>
#include <mixtrain/policy/lr_schedule.hpp>
#include <mixtrain/task/landmark_heatmaps.hpp>

namespace bench_overhead {

namespace mt = mixtrain;
namespace hana = boost::hana;

// Logging goes nowhere: the default console/CSV policies act at epoch end only.
struct null_buffer : std::streambuf {
  int overflow(int c) override { return c; }
};
inline null_buffer null_sink;
inline std::ostream null_stream(&null_sink);

// Where the default csv_log writes its header at on_fit_begin.
struct scratch_dir {
  std::filesystem::path path;
  scratch_dir() {
    path = std::filesystem::temp_directory_path() /
           ("mixtrain_bench_overhead_" + std::to_string(static_cast<long long>(::getpid())));
    std::filesystem::create_directories(path);
  }
  ~scratch_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

inline mt::data::landmark_set landmarks(int count) {
  mt::data::landmark_set set;
  for (int i = 0; i < count; ++i) {
    set.symbols.push_back("L" + std::to_string(i));
    set.titles.push_back("L" + std::to_string(i));
  }
  return set;
}

// A batch as the data pipeline delivers it: uint8 pixels, landmark
// coordinates, presence (a few landmarks missing, so the weights matter).
inline mt::data::batch random_batch(int size, int side, int num_landmarks, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> pixel(0, 255);
  std::uniform_real_distribution<float> coord(4.0F, static_cast<float>(side) - 5.0F);
  mt::data::batch b;
  b.size = size;
  b.height = b.width = side;
  b.num_landmarks = num_landmarks;
  b.pixels.resize(static_cast<std::size_t>(size) * side * side);
  for (auto& p : b.pixels) p = static_cast<std::uint8_t>(pixel(rng));
  b.landmarks.resize(static_cast<std::size_t>(size) * num_landmarks * 2);
  for (auto& c : b.landmarks) c = coord(rng);
  b.present.assign(static_cast<std::size_t>(size) * num_landmarks, 1.0F);
  for (std::size_t i = seed % 7; i < b.present.size(); i += 11) b.present[i] = 0.0F;
  return b;
}

constexpr int num_landmarks = 29;
constexpr double sigma = 2.0, norm_mean = 0.5, norm_std = 0.25;  // landmark_heatmaps' defaults

// The smallest network a step can have: two strided conv + BatchNorm + ReLU
// layers and a 1x1 head (output stride 4; 7 parameter tensors, BatchNorm
// buffers, float and integer, for the EMA to follow).
struct tiny_netImpl : torch::nn::Module {
  explicit tiny_netImpl(const mt::model::build_options& o)
      : conv1(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(o.in_channels, 8, 3).stride(2).padding(1).bias(false)))),
        norm1(register_module("norm1", torch::nn::BatchNorm2d(8))),
        conv2(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 16, 3).stride(2).padding(1).bias(false)))),
        norm2(register_module("norm2", torch::nn::BatchNorm2d(16))),
        head(register_module("head", torch::nn::Conv2d(torch::nn::Conv2dOptions(16, o.num_landmarks, 1)))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    return head(torch::relu(norm2(conv2(torch::relu(norm1(conv1(x)))))));
  }
  torch::nn::Conv2d conv1;
  torch::nn::BatchNorm2d norm1;
  torch::nn::Conv2d conv2;
  torch::nn::BatchNorm2d norm2;
  torch::nn::Conv2d head;
};
TORCH_MODULE(tiny_net);

struct tiny_net_spec {
  static constexpr std::string_view name = "tiny_net";
  static constexpr int output_stride = 4;
  static tiny_net build(const mt::model::build_options& o) { return tiny_net(o); }
};

// compact_unet at width 4: 4-8-16-16 channels, 28 convolutions, 20 BatchNorms,
// 70 parameter tensors (per-parameter costs show here).
using small_unet_spec = mt::model::compact_unet<{.width = 4}>;

using data_spec = mt::data::aariz<{.image_size = {64, 64}}>;  // the host batch's size is what counts
using task_spec = mt::task::landmark_heatmaps<{.sigma = sigma, .mean = norm_mean, .std_dev = norm_std}>;
constexpr mt::optim::adamw_config empty_adamw{.lr = 1e-3, .weight_decay = 1e-4};
template <class Model>
using empty_recipe = mt::recipe<Model, data_spec, task_spec, mt::optim::adamw<empty_adamw>>;

// recipes/aariz_full.cpp's optimizer and policies, with its numbers.
constexpr mt::optim::adamw_config full_adamw{.lr = 2e-3, .weight_decay = 1e-4};
constexpr mt::policy::ema_config full_ema{.decay = 0.9998};
constexpr mt::policy::grad_clip_config full_clip{.max_norm = 1.0};
constexpr mt::policy::warmup_cosine_config full_schedule{.warmup_epochs = 2, .min_lr = 1e-6};
constexpr int full_accumulation = 2;
template <class Model>
using full_recipe = mt::recipe<Model, data_spec, task_spec, mt::optim::adamw<full_adamw>,
                               mt::policy::amp<mt::bf16, {.enabled = false}>,
                               mt::policy::channels_last_layout<{.measure_on_cpu = false}>,  // fixed: the hand loop it is compared with is NHWC
                               mt::policy::ema<full_ema>,
                               mt::policy::accumulate<{.steps = full_accumulation}>,
                               mt::policy::grad_clip<full_clip>,
                               mt::policy::warmup_cosine<full_schedule>,
                               mt::policy::early_stopping<{.patience = 10}>,
                               mt::policy::checkpoint<{.every_epochs = 5, .keep_best = 3}>>;
constexpr std::size_t ema_index = 2;  // position of ema in full_recipe's policies

// The schedule's horizon (set in both loops alike): 40 epochs of 100
// micro-batches, so a run passes warmup into the cosine.
constexpr std::int64_t epochs = 40, batches_per_epoch = 100;
}  // namespace bench_overhead
