#pragma once
// `bench step`: one full training step (forward, loss, backward, optimizer,
// with the recipe's policies) through the trainer's own train_micro_batch, on
// random uint8 landmark batches, or with --dataset_path (and no --num_landmarks)
// on the recipe's own pipeline over its train split (then the wait for each batch is measured too:
// data_wait_fraction and end-to-end images/s). The loss is read back from the device once,
// after the timed steps, as the loop itself does. Prints one line, then one
// JSON object for scripts (benchmarks/hrnet_step_compare.sh).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <mixtrain/app/bench_data.hpp>
#include <mixtrain/app/common.hpp>
#include <mixtrain/app/openmp_env.hpp>
#include <mixtrain/core/device_memory.hpp>
#include <mixtrain/core/hooks.hpp>
#include <mixtrain/data/batch_pipeline.hpp>

namespace mixtrain::app {

struct bench_step_options {
  int steps = 5;
  int warmup = 1;
  int num_landmarks = 0;  // 0: the landmark set of --dataset_path, else 29 (Aariz)
};

namespace bench_detail {

// Random grey images with random landmarks, all present.
inline data::batch random_batch(std::mt19937_64& rng, int batch_size, data::input_size input, int num_landmarks) {
  data::batch b;
  b.size = batch_size;
  b.height = input.height;
  b.width = input.width;
  b.num_landmarks = num_landmarks;
  b.pixels.resize(static_cast<std::size_t>(batch_size) * input.height * input.width);
  std::uniform_int_distribution<int> grey(0, 255);
  for (auto& p : b.pixels) p = static_cast<std::uint8_t>(grey(rng));
  std::uniform_real_distribution<float> x(0, static_cast<float>(input.width - 1)), y(0, static_cast<float>(input.height - 1));
  b.landmarks.resize(static_cast<std::size_t>(batch_size) * num_landmarks * 2);
  for (std::size_t i = 0; i < b.landmarks.size(); i += 2) {
    b.landmarks[i] = x(rng);
    b.landmarks[i + 1] = y(rng);
  }
  b.present.assign(static_cast<std::size_t>(batch_size) * num_landmarks, 1.0f);
  b.input_from_original.assign(static_cast<std::size_t>(batch_size), data::affine(1, 0, 0, 0, 1, 0));
  for (int i = 0; i < batch_size; ++i) b.dataset_indices.push_back(static_cast<std::size_t>(i));
  std::uniform_int_distribution<int> stage(1, 6);  // a label per image, as Aariz's CVM stages
  for (int i = 0; i < batch_size; ++i) b.image_labels.push_back(stage(rng));
  return b;
}

// A private output folder for the run's policies (the CSV log opens its file
// in on_fit_begin), removed afterwards: a benchmark leaves no run behind.
class scratch_folder {
 public:
  scratch_folder() {
    path_ = std::filesystem::temp_directory_path() /
            fmt::format("mixtrain-bench-step-{}", std::chrono::steady_clock::now().time_since_epoch().count());
    std::filesystem::create_directories(path_);
  }
  scratch_folder(const scratch_folder&) = delete;
  scratch_folder& operator=(const scratch_folder&) = delete;
  ~scratch_folder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct step_summary {
  double median = 0, min = 0, mean = 0;
};

inline step_summary summarise(const std::vector<double>& times) {
  auto sorted = times;
  std::sort(sorted.begin(), sorted.end());
  step_summary s;
  s.median = sorted.size() % 2 ? sorted[sorted.size() / 2] : 0.5 * (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]);
  s.min = sorted.front();
  for (double t : times) s.mean += t / static_cast<double>(times.size());
  return s;
}

// The landmarks the model is built for: --num_landmarks, else those of the
// dataset at --dataset_path (its train split), else Aariz's 29.
template <class Trainer>
data::landmark_set bench_targets(Trainer& t, int num_landmarks) {
  if (num_landmarks > 0) return numbered_landmarks(num_landmarks);
  if (!t.run.dataset_path.empty()) {
    require_dataset<typename Trainer::data_type>(t.run.dataset_path, "bench step");
    data::landmark_set targets;
    (void)t.data.read_split(t.run.dataset_path, "train", targets);
    if (targets.size() > 0) return targets;
  }
  return numbered_landmarks(29);
}

}  // namespace bench_detail

// Where the timed batches come from: the recipe's own pipeline over the train
// split of --dataset_path (augmentation and workers included, so the wait for
// each batch is measured), else random batches made outside the timing.
template <class Trainer>
class step_batches {
 public:
  // from_dataset: false when --num_landmarks overrides the dataset's landmark
  // set (its batches would not fit the model): random batches then.
  step_batches(Trainer& t, int num_landmarks, bool from_dataset)
      : t_(t), num_landmarks_(num_landmarks), rng_(t.run.fit.seed) {
    if (t.run.dataset_path.empty() || !from_dataset) return;
    typename Trainer::target_info ignored;
    train_ = t.data.read_split(t.run.dataset_path, "train", ignored);
    pipeline_ = t.data.make_pipeline(train_, t.settings(true));
    pipeline_->start_epoch(0, 0);
  }
  step_batches(const step_batches&) = delete;
  step_batches& operator=(const step_batches&) = delete;
  ~step_batches() {
    if (pipeline_) pipeline_->stop();
  }

  [[nodiscard]] bool from_pipeline() const { return pipeline_ != nullptr; }
  [[nodiscard]] int num_workers() const { return pipeline_ ? pipeline_->num_workers() : 0; }

  // The next batch and the seconds spent waiting for it (0 for random batches).
  std::pair<data::batch, double> next() {
    if (!pipeline_) return {bench_detail::random_batch(rng_, t_.run.fit.batch_size, t_.data.config.image_size, num_landmarks_), 0.0};
    const double before = pipeline_->wait_seconds();
    auto b = pipeline_->next();
    if (!b) {  // epoch exhausted: the next one
      pipeline_->start_epoch(++epoch_, 0);
      b = pipeline_->next();
      if (!b) throw std::runtime_error("bench step: the train split of " + t_.run.dataset_path.string() + " gives no batch");
    }
    return {std::move(*b), pipeline_->wait_seconds() - before};
  }

 private:
  Trainer& t_;
  int num_landmarks_;
  std::mt19937_64 rng_;
  typename Trainer::sample_set train_;
  std::unique_ptr<typename Trainer::data_type::pipeline_type> pipeline_;
  std::uint64_t epoch_ = 0;
};

template <class Trainer>
  requires landmark_batch_recipe<Trainer>
int run_bench_step(Trainer& t, const bench_step_options& o) {
  const auto targets = bench_detail::bench_targets(t, o.num_landmarks);
  const int num_landmarks = static_cast<int>(targets.size());
  t.build(targets);
  bench_detail::scratch_folder scratch;
  auto& c = t.ctx();
  c.log = &std::cerr;
  c.output_dir = scratch.path();
  c.epochs = 1;
  c.batches_per_epoch = o.steps + o.warmup;
  c.updates_per_epoch = c.batches_per_epoch;
  c.window_length = 1;
  step_batches<Trainer> batches(t, num_landmarks, o.num_landmarks <= 0);
  t.emit(hook::on_fit_begin{}, c);
  t.emit(hook::on_epoch_begin{}, c);
  t.model()->train();

  const auto input = t.data.config.image_size;
  const int batch_size = t.run.fit.batch_size;
  const bool cuda = t.device().is_cuda();
  std::vector<double> times;
  double waited = 0, stepped = 0;
  reset_device_memory_peak(t.device());  // the peak includes the warm-up steps
  for (int i = 0; i < o.warmup + o.steps; ++i) {
    const auto [b, wait_s] = batches.next();
    if (cuda) torch::cuda::synchronize();
    const auto started = std::chrono::steady_clock::now();
    t.train_micro_batch(t.task.to_device(b, t.device()), true);
    if (cuda) torch::cuda::synchronize();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    ++c.batch_in_epoch;
    if (i < o.warmup) continue;
    times.push_back(s);
    waited += wait_s;
    stepped += s;
  }
  const double last_loss = c.loss.template item<double>();  // the one read-back
  const auto device_peak = read_device_memory_peak(t.device());
  // Bytes as MiB, or null where there is no device figure (a CPU run).
  const auto mib_or_null = [](const std::optional<std::int64_t>& bytes) {
    return bytes ? nlohmann::json(static_cast<double>(*bytes) / 1048576.0) : nlohmann::json();
  };
  t.emit(hook::on_fit_end{}, c);

  const auto summary = bench_detail::summarise(times);
  const double images_per_s = batch_size / std::max(summary.median, 1e-12);
  // End to end: the timed steps and the waits for their batches together.
  const double end_to_end_images_per_s = batch_size * static_cast<double>(o.steps) / std::max(waited + stepped, 1e-12);
  const nlohmann::json result = {{"bench", "step"},
                                 {"model", std::string(Trainer::model_spec::name)},
                                 {"params", t.parameter_count()},
                                 {"image_size", {input.width, input.height}},
                                 {"batch_size", batch_size},
                                 {"num_landmarks", num_landmarks},
                                 {"steps", o.steps},
                                 {"warmup", o.warmup},
                                 {"device", t.run.device},
                                 {"threads", torch::get_num_threads()},
                                 {"omp_spincount", effective_omp_spincount()},
                                 {"step_s", times},
                                 {"median_step_s", summary.median},
                                 {"min_step_s", summary.min},
                                 {"mean_step_s", summary.mean},
                                 {"images_per_s", images_per_s},
                                 {"data", batches.from_pipeline() ? "pipeline" : "random"},
                                 {"num_workers", batches.num_workers()},
                                 {"data_wait_fraction", waited / std::max(waited + stepped, 1e-12)},
                                 {"end_to_end_images_per_s", end_to_end_images_per_s},
                                 {"last_loss", last_loss},
                                 {"peak_rss_mb", peak_rss_mb()},
                                 {"peak_gpu_mb", mib_or_null(device_peak.allocated)},
                                 {"peak_gpu_reserved_mb", mib_or_null(device_peak.reserved)}};
  std::cout << fmt::format("bench step: {} {}x{}, batch {}, {} landmarks, {} threads: median {:.3f} s/step ({:.2f} images/s)\n",
                           Trainer::model_spec::name, input.width, input.height, batch_size, num_landmarks,
                           torch::get_num_threads(), summary.median, images_per_s);
  std::cout << result.dump() << std::endl;
  return 0;
}

}  // namespace mixtrain::app
