#pragma once
// The recipe's `bench` subcommand:
//   bench data  the input pipeline alone (no model): images/s, peak memory and
//               the per-image cost split into decode, warp and the rest;
//   bench step  one full training step (forward, loss, backward, optimizer,
//               with the recipe's policies) on synthetic random batches.
// Each prints human-readable lines first and, as its last line, one JSON
// object for scripts (benchmarks/compare_data.sh).
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <mixtrain/core/events.hpp>
#include <mixtrain/data/aariz_reader.hpp>
#include <mixtrain/data/aariz_samples.hpp>
#include <mixtrain/data/batch_pipeline.hpp>
#include <mixtrain/data/worker_count.hpp>

namespace mixtrain::app {

// A field of /proc/self/status in MiB (VmHWM: peak resident set), 0 if absent.
inline double proc_status_mb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024.0;  // kB
  return 0;
}
inline double peak_rss_mb() { return proc_status_mb("VmHWM"); }

// Samples /proc/self/smaps_rollup 20 times a second and keeps the peaks of
// RSS, PSS (shared pages split between the processes mapping them, so it
// moves with what else runs) and dirty PSS (heap, stacks and written pages:
// what this process itself wrote, whatever else runs).
class memory_sampler {
 public:
  struct peaks {
    double rss_mb = 0, pss_mb = 0, dirty_mb = 0;
  };

  memory_sampler() : thread_([this] { loop(); }) {}
  memory_sampler(const memory_sampler&) = delete;
  memory_sampler& operator=(const memory_sampler&) = delete;
  ~memory_sampler() { stop(); }

  peaks stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    sample();
    return peaks_;
  }

 private:
  void sample() {
    std::ifstream in("/proc/self/smaps_rollup");
    double rss = 0, pss = 0, dirty = 0;
    for (std::string line; std::getline(in, line);) {
      auto kb = [&](const char* key) {
        const std::string k = key;
        return line.rfind(k, 0) == 0 ? std::stod(line.substr(k.size())) / 1024.0 : 0.0;
      };
      rss += kb("Rss:");
      pss += kb("Pss:");
      dirty += kb("Pss_Dirty:");
    }
    peaks_.rss_mb = std::max(peaks_.rss_mb, rss);
    peaks_.pss_mb = std::max(peaks_.pss_mb, pss);
    peaks_.dirty_mb = std::max(peaks_.dirty_mb, dirty);
  }
  void loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      sample();
      lock.lock();
      wake_.wait_for(lock, std::chrono::milliseconds(50), [&] { return stopping_; });
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  peaks peaks_;
  std::thread thread_;  // last: starts after the members it uses exist
};

template <class Trainer>
struct bench_command {
  CLI::App* data = nullptr;
  CLI::App* step = nullptr;

  // bench data
  std::int64_t batches = 40;
  std::int64_t data_warmup = 2;
  bool warm_cache = false;
  std::string split = "train";
  // bench step
  int steps = 5;
  int step_warmup = 1;
  int num_landmarks = 29;

  void add_to(CLI::App& bench) {
    bench.require_subcommand(1, 1);
    data = bench.add_subcommand("data", "time the data pipeline alone: decode, warp, augment, batch (no model)");
    data->add_option("--batches", batches, "timed batches")->check(CLI::PositiveNumber);
    data->add_option("--warmup", data_warmup, "untimed batches before timing (thread start, first decodes)")
        ->check(CLI::NonNegativeNumber);
    data->add_flag("--warm_cache", warm_cache,
                   "run one untimed pass over the split first, so the timed batches read the --cache_mb cache");
    data->add_option("--split", split, "which split's images to read")->check(CLI::IsMember({"train", "valid", "test"}));
    step = bench.add_subcommand("step", "time one full training step on synthetic random batches (no data)");
    step->add_option("--steps", steps, "timed steps")->check(CLI::PositiveNumber);
    step->add_option("--warmup", step_warmup, "untimed steps first")->check(CLI::NonNegativeNumber);
    step->add_option("--num_landmarks", num_landmarks, "landmark count of the model")->check(CLI::PositiveNumber);
    data->fallthrough();
    step->fallthrough();
  }

  // Call after the command line is parsed and its values are in `t`.
  int run(Trainer& t) {
    if (data && data->parsed()) return run_data(t);
    if (step && step->parsed()) return run_step(t);
    throw CLI::ValidationError("bench", "name a benchmark: 'bench data' or 'bench step'");
  }

 private:
  int run_data(Trainer& t) {
    memory_sampler memory;
    const auto& root = t.run.dataset_path;
    if (root.empty()) throw CLI::ValidationError("--dataset_path", "is required for 'bench data' (an Aariz-layout folder)");
    if (!std::filesystem::is_directory(root))
      throw CLI::ValidationError("--dataset_path", "'" + root.string() + "' is not a directory");
    data::landmark_set landmarks;  // whatever the tree holds
    const auto images = data::read_aariz_split(root, split, landmarks);
    const auto input = t.data.config.image_size;
    data::aariz_samples<typename Trainer::data_spec::augmentations_type> samples(
        images, input, t.data.augmentations, true, t.run.fit.seed, static_cast<std::size_t>(t.run.fit.cache_mb) << 20);
    auto options = t.pipeline_options(true);
    const int num_landmarks_read = static_cast<int>(landmarks.size());
    data::worker_choice auto_choice;
    if (t.run.fit.num_workers == 0) {
      auto_choice = data::measure_worker_counts(images.images.size(), num_landmarks_read, options, samples,
                                                {.log = &std::cout});
      options.num_workers = auto_choice.workers;
    }
    data::batch_pipeline pipeline(images.images.size(), num_landmarks_read, options, samples);
    std::uint64_t epoch = 0;
    if (warm_cache) {
      pipeline.start_epoch(epoch++);
      while (pipeline.next()) {
      }
    }

    using clock = std::chrono::steady_clock;
    pipeline.start_epoch(epoch);
    auto take = [&]() -> data::batch {
      while (true) {
        if (auto b = pipeline.next()) return std::move(*b);
        pipeline.start_epoch(++epoch);
      }
    };
    for (std::int64_t i = 0; i < data_warmup; ++i) take();
    const auto before = samples.timings().snapshot();
    const auto stats_before = pipeline.stats();
    const auto started = clock::now();
    std::int64_t images_done = 0;
    for (std::int64_t i = 0; i < batches; ++i) images_done += take().size;
    const double seconds = std::chrono::duration<double>(clock::now() - started).count();
    const auto cost = samples.timings().snapshot() - before;
    const auto stats = pipeline.stats();
    pipeline.stop();
    const auto sampled = memory.stop();

    const double per = cost.samples > 0 ? 1e-6 / static_cast<double>(cost.samples) : 0.0;  // ns sum -> ms per image
    const double decode_ms = static_cast<double>(cost.decode_ns) * per;
    const double warp_ms = static_cast<double>(cost.warp_ns) * per;
    const double rest_ms = static_cast<double>(cost.rest_ns) * per;
    nlohmann::json trials = nlohmann::json::array();
    for (const auto& trial : auto_choice.trials) trials.push_back({{"workers", trial.workers}, {"images_per_s", trial.images_per_s}});
    const nlohmann::json result = {
        {"bench", "data"},
        {"dataset_path", root.string()},
        {"split", split},
        {"split_images", images.images.size()},
        {"num_landmarks", num_landmarks_read},
        {"image_size", {input.width, input.height}},
        {"batch_size", options.batch_size},
        {"num_workers", options.num_workers},
        {"num_workers_auto", t.run.fit.num_workers == 0},
        {"auto_trials", trials},
        {"worker_threads", pipeline.worker_count()},
        {"prefetch_batches", options.prefetch_batches},
        {"memory_budget_mb", static_cast<double>(options.memory_budget_bytes) / (1 << 20)},
        {"planned_mb", static_cast<double>(pipeline.planned_bytes()) / (1 << 20)},
        {"cache_mb", t.run.fit.cache_mb},
        {"cache_used_mb", static_cast<double>(samples.cache().used()) / (1 << 20)},
        {"warm_cache", warm_cache},
        {"batches", batches},
        {"warmup", data_warmup},
        {"images", images_done},
        {"seconds", seconds},
        {"images_per_s", static_cast<double>(images_done) / std::max(seconds, 1e-9)},
        {"peak_rss_mb", peak_rss_mb()},
        {"peak_pss_mb", sampled.pss_mb},
        {"peak_dirty_mb", sampled.dirty_mb},
        {"memory_method", "peak_rss_mb: VmHWM of /proc/self/status; pss, dirty (Pss_Dirty): /proc/self/smaps_rollup sampled at 20 Hz"},
        {"per_image_ms",
         {{"decode", decode_ms},
          {"decode_scale_down", static_cast<double>(cost.scale_ns) * per},
          {"warp", warp_ms},
          {"rest", rest_ms},
          {"total", decode_ms + warp_ms + rest_ms}}},
        {"decodes", cost.decodes},
        {"cache_hits", cost.cache_hits},
        {"skipped", stats.skipped - stats_before.skipped},
        {"consumer_wait_fraction",
         std::min(1.0, (stats.consumer_wait_s - stats_before.consumer_wait_s) / std::max(seconds, 1e-9))},
    };
    std::cout << fmt::format(
        "bench data: {} images {}x{}, batch {}, {} workers, cache {} MiB{}: {:.1f} images/s, peak RSS {:.0f} MiB; "
        "per image {:.2f} ms decode + {:.2f} ms warp + {:.2f} ms rest (worker time)\n",
        images_done, input.width, input.height, options.batch_size, options.num_workers, t.run.fit.cache_mb,
        warm_cache ? " (warm)" : "", result["images_per_s"].template get<double>(), result["peak_rss_mb"].template get<double>(),
        decode_ms, warp_ms, rest_ms);
    std::cout << result.dump() << std::endl;
    return 0;
  }

  int run_step(Trainer& t) {
    data::landmark_set landmarks;
    for (int i = 1; i <= num_landmarks; ++i) {
      landmarks.symbols.push_back("L" + std::to_string(i));
      landmarks.titles.push_back("landmark " + std::to_string(i));
    }
    t.build(landmarks);
    auto& c = t.ctx();
    c.log = &std::cerr;
    c.epochs = 1;
    c.batches_per_epoch = steps + step_warmup;
    c.updates_per_epoch = c.batches_per_epoch;
    c.window_length = 1;
    t.emit(event::on_fit_begin, c);
    t.emit(event::on_epoch_begin, c);
    t.model()->train();

    const auto input = t.data.config.image_size;
    const int batch_size = t.run.fit.batch_size;
    std::mt19937_64 rng(t.run.fit.seed);
    auto random_batch = [&] {
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
      return b;
    };
    const bool cuda = t.device().is_cuda();
    std::vector<double> times;
    double last_loss = 0;
    for (int i = 0; i < step_warmup + steps; ++i) {
      const auto b = random_batch();  // not timed
      if (cuda) torch::cuda::synchronize();
      const auto started = std::chrono::steady_clock::now();
      last_loss = t.train_micro_batch(t.to_device(b), true);
      if (cuda) torch::cuda::synchronize();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      ++c.batch_in_epoch;
      if (i >= step_warmup) times.push_back(s);
    }
    auto sorted = times;
    std::sort(sorted.begin(), sorted.end());
    const double median = sorted.size() % 2 ? sorted[sorted.size() / 2]
                                            : 0.5 * (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]);
    double mean = 0;
    for (double s : times) mean += s / static_cast<double>(times.size());
    const nlohmann::json result = {{"bench", "step"},
                                   {"model", std::string(Trainer::model_spec::name)},
                                   {"params", t.parameter_count()},
                                   {"image_size", {input.width, input.height}},
                                   {"batch_size", batch_size},
                                   {"num_landmarks", num_landmarks},
                                   {"steps", steps},
                                   {"warmup", step_warmup},
                                   {"device", t.run.device},
                                   {"threads", torch::get_num_threads()},
                                   {"step_s", times},
                                   {"median_step_s", median},
                                   {"min_step_s", sorted.front()},
                                   {"mean_step_s", mean},
                                   {"images_per_s", batch_size / std::max(median, 1e-12)},
                                   {"last_loss", last_loss},
                                   {"peak_rss_mb", peak_rss_mb()}};
    std::cout << fmt::format("bench step: {} {}x{}, batch {}, {} landmarks, {} threads: median {:.3f} s/step ({:.2f} images/s)\n",
                             Trainer::model_spec::name, input.width, input.height, batch_size, num_landmarks,
                             torch::get_num_threads(), median, batch_size / std::max(median, 1e-12));
    std::cout << result.dump() << std::endl;
    return 0;
  }
};

}  // namespace mixtrain::app
