#pragma once
// Shared by the policy tests: a tiny model without BatchNorm, small recipes,
// hand-made batches, a synthetic dataset on disk and tensor comparisons.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include <torch/torch.h>

#include <mixtrain/core/recipe.hpp>
#include <mixtrain/core/trainer.hpp>
#include <mixtrain/data/aariz.hpp>
#include <mixtrain/data/aariz_reader.hpp>
#include <mixtrain/data/synthetic_aariz.hpp>
#include <mixtrain/loss/heatmap_mse.hpp>
#include <mixtrain/task/landmark_heatmaps.hpp>
#include <mixtrain/model/compact_unet.hpp>
#include <mixtrain/optim/adamw.hpp>

namespace policy_test {

namespace mt = mixtrain;
namespace hana = boost::hana;

// Three convolutions down to stride 4; Cloneable, so copy_model uses clone().
struct tiny_netImpl : torch::nn::Cloneable<tiny_netImpl> {
  explicit tiny_netImpl(std::int64_t landmarks_ = 3) : landmarks(landmarks_) { reset(); }
  void reset() override {
    a = register_module("a", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 8, 3).stride(2).padding(1)));
    b = register_module("b", torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 8, 3).stride(2).padding(1)));
    head = register_module("head", torch::nn::Conv2d(torch::nn::Conv2dOptions(8, landmarks, 1)));
  }
  torch::Tensor forward(const torch::Tensor& x) { return head(torch::relu(b(torch::relu(a(x))))); }
  std::int64_t landmarks;
  torch::nn::Conv2d a{nullptr}, b{nullptr}, head{nullptr};
};
TORCH_MODULE(tiny_net);

struct tiny_spec {
  static constexpr std::string_view name = "tiny_net";
  static constexpr int output_stride = 4;
  static tiny_net build(const mt::model::build_options& options) { return tiny_net(options.num_landmarks); }
};

using tiny_data = mt::data::aariz<{.image_size = {32, 32}}>;
using unet_data = mt::data::aariz<{.image_size = {64, 64}}>;
using adamw = mt::optim::adamw<{.lr = 1e-3, .weight_decay = 1e-4}>;

template <class... Policies>
using tiny_recipe = mt::recipe<tiny_spec, tiny_data, mt::task::landmark_heatmaps<>, adamw, Policies...>;
template <class... Policies>
using unet_recipe =
    mt::recipe<mt::model::compact_unet<{.width = 8}>, unet_data, mt::task::landmark_heatmaps<>, adamw, Policies...>;

// A clock for policies that take one (progress, thread_split): time stands
// still until a test moves it.
struct fake_clock {
  using time_point = std::chrono::steady_clock::time_point;
  static inline time_point now_value{std::chrono::hours(1)};
  static time_point now() { return now_value; }
  static void advance(double seconds) {
    now_value += std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
  }
};

inline mt::data::landmark_set numbered_landmarks(int count) {
  mt::data::landmark_set set;
  for (int i = 0; i < count; ++i) {
    // append, not "L" + string: GCC 12 warns falsely (-Wstringop-overflow) once inlined
    set.symbols.push_back(std::string("L").append(std::to_string(i)));
    set.titles.push_back(std::string("landmark ").append(std::to_string(i)));
  }
  return set;
}

// Random pixels and landmarks inside the image, all present.
inline mt::data::batch make_batch(int size, int side, int landmarks, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> pixel(0, 255);
  std::uniform_real_distribution<float> coord(2.0F, static_cast<float>(side) - 3.0F);
  mt::data::batch b;
  b.size = size;
  b.height = b.width = side;
  b.num_landmarks = landmarks;
  b.pixels.resize(static_cast<std::size_t>(size) * side * side);
  for (auto& p : b.pixels) p = static_cast<std::uint8_t>(pixel(rng));
  b.landmarks.resize(static_cast<std::size_t>(size) * landmarks * 2);
  for (auto& c : b.landmarks) c = coord(rng);
  b.present.assign(static_cast<std::size_t>(size) * landmarks, 1.0F);
  return b;
}

// Images [first, first + count) of a batch.
inline mt::data::batch slice(const mt::data::batch& b, int first, int count) {
  mt::data::batch out = b;
  const auto pixels = static_cast<std::size_t>(b.height) * b.width;
  const auto points = static_cast<std::size_t>(b.num_landmarks);
  out.size = count;
  out.pixels.assign(b.pixels.begin() + static_cast<long>(first * pixels),
                    b.pixels.begin() + static_cast<long>((first + count) * pixels));
  out.landmarks.assign(b.landmarks.begin() + static_cast<long>(first * points * 2),
                       b.landmarks.begin() + static_cast<long>((first + count) * points * 2));
  out.present.assign(b.present.begin() + static_cast<long>(first * points),
                     b.present.begin() + static_cast<long>((first + count) * points));
  return out;
}

// A fresh folder under the system temp directory, removed when destroyed.
struct temp_dir {
  explicit temp_dir(const std::string& name)
      : path(std::filesystem::temp_directory_path() / ("mixtrain_policy_" + name + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::filesystem::path path;
};

// on_fit_begin as fit() sends it, with the output folder set: the default CSV
// log writes metrics.csv there. Without one it wrote into the working
// directory, which ctest's entries share, and two entries renaming their
// metrics.csv there at once failed. Each entry is a process of its own.
inline const std::filesystem::path& process_output_dir() {
  static const temp_dir dir("output");
  return dir.path;
}

template <class Trainer>
void begin_fit(Trainer& t) {
  t.ctx().output_dir = process_output_dir();
  t.emit(mt::hook::on_fit_begin{}, t.ctx());
}

// A small synthetic Aariz-layout dataset (8 train, 4 valid images).
struct synthetic_dataset {
  temp_dir dir{"data"};
  mt::data::landmark_set landmarks;
  mt::data::split train, valid;
  synthetic_dataset() {
    mt::data::write_synthetic_aariz(
        dir.path, {.train_images = 8, .valid_images = 4, .test_images = 0, .min_side = 96, .max_side = 160, .seed = 7});
    train = mt::data::read_aariz_split(dir.path, "train", landmarks);
    valid = mt::data::read_aariz_split(dir.path, "valid", landmarks);
  }
};

// One per test process, shared by the test files.
inline const synthetic_dataset& dataset() {
  static const synthetic_dataset data;
  return data;
}

// Run settings for quick fits: batches of 2, one worker, output in `out`.
template <class Trainer>
void quick_run(Trainer& t, const std::filesystem::path& out, int epochs) {
  t.run.fit.epochs = epochs;
  t.run.fit.batch_size = 2;
  t.run.fit.num_workers = 1;
  t.run.fit.prefetch_batches = 2;
  t.run.fit.cache_mb = 0;
  t.run.fit.seed = 3;
  t.run.output_dir = out;
}

// Builds the trainer's model and optimizer from a fixed seed.
template <class Recipe>
void build_seeded(mt::trainer<Recipe>& t, const mt::data::landmark_set& landmarks, std::uint64_t seed) {
  torch::manual_seed(seed);
  t.build(landmarks);
}

template <class Recipe>
void build_seeded(mt::trainer<Recipe>& t, int landmarks = 3, std::uint64_t seed = 1) {
  build_seeded(t, numbered_landmarks(landmarks), seed);
}

template <class Recipe>
double lr_of(mt::trainer<Recipe>& t) {
  return t.optimizer().param_groups().front().options().get_lr();
}

// Parameters and buffers by name, detached copies.
inline std::map<std::string, torch::Tensor> snapshot(const torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters(true)) out.emplace(p.key(), p.value().detach().clone());
  for (const auto& b : m.named_buffers(true)) out.emplace(b.key(), b.value().detach().clone());
  return out;
}

inline std::vector<torch::Tensor> gradients(torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (const auto& p : m.parameters()) out.push_back(p.grad().detach().clone());
  return out;
}

inline bool bit_identical(const std::map<std::string, torch::Tensor>& a, const std::map<std::string, torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [name, t] : a) {
    const auto it = b.find(name);
    if (it == b.end() || !torch::equal(t, it->second)) return false;
  }
  return true;
}

}  // namespace policy_test
