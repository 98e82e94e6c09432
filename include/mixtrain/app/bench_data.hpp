#pragma once
// `bench data`: the input pipeline alone (no model): images/s, peak memory
// and the per-image cost split into decode, warp and the rest, for a data
// source built on data::sample_pipeline (data::aariz_samples feeding a
// data::batch_pipeline), exactly as training builds it. Prints one line,
// then one JSON object for scripts (benchmarks/compare_data.sh).
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <mixtrain/app/common.hpp>
#include <mixtrain/core/data_source.hpp>
#include <mixtrain/data/aariz.hpp>
#include <mixtrain/data/aariz_samples.hpp>
#include <mixtrain/data/batch_pipeline.hpp>
#include <mixtrain/data/landmark_images.hpp>
#include <mixtrain/data/worker_count.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::app {

// A field of /proc/self/status in MiB (VmHWM: peak resident set), 0 if absent.
MIXTRAIN_COLD double proc_status_mb(const std::string& field);
MIXTRAIN_COLD double peak_rss_mb();

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
  MIXTRAIN_COLD void sample();
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


struct bench_data_options {
  std::int64_t batches = 40;
  std::int64_t warmup = 2;
  bool warm_cache = false;
  std::string split = "train";
};

namespace bench_detail {

// What the timed batches cost.
struct data_timing {
  std::int64_t images = 0;
  double seconds = 0;
  data::stage_totals cost;
  data::pipeline_stats before, after;
};

// Untimed warm-up (and, with warm_cache, one pass to fill the cache), then
// `batches` timed batches, running into further epochs as needed.
template <class Samples>
data_timing time_batches(data::batch_pipeline& pipeline, const Samples& samples, const bench_data_options& o) {
  std::uint64_t epoch = 0;
  if (o.warm_cache) {
    pipeline.start_epoch(epoch++);
    while (pipeline.next()) {
    }
  }
  pipeline.start_epoch(epoch);
  auto take = [&]() -> data::batch {
    while (true) {
      if (auto b = pipeline.next()) return std::move(*b);
      pipeline.start_epoch(++epoch);
    }
  };
  for (std::int64_t i = 0; i < o.warmup; ++i) take();
  data_timing t;
  const auto before = samples.timings().snapshot();
  t.before = pipeline.stats();
  const auto started = std::chrono::steady_clock::now();
  for (std::int64_t i = 0; i < o.batches; ++i) t.images += take().size;
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  t.cost = samples.timings().snapshot() - before;
  t.after = pipeline.stats();
  return t;
}

MIXTRAIN_COLD nlohmann::json per_image_ms(const data::stage_totals& cost);

}  // namespace bench_detail

template <class Trainer>
  requires aariz_pipeline_recipe<Trainer>
int run_bench_data(Trainer& t, const bench_data_options& o) {
  memory_sampler memory;
  const auto& root = t.run.dataset_path;
  require_dataset<typename Trainer::data_type>(root, "'bench data'");
  data::landmark_set landmarks;  // whatever the tree holds
  const auto images = t.data.read_split(root, o.split, landmarks);
  const auto input = t.data.config.image_size;
  // The training pipeline itself: the same cache fitting, worker choice and budget.
  auto settings = t.settings(true);
  settings.log = &std::cout;
  const int num_landmarks = static_cast<int>(landmarks.size());
  data::sample_pipeline<typename Trainer::data_type::augmentations_type> source(images, num_landmarks, input,
                                                                               t.data.augmentations, settings);
  const auto& samples = source.samples();
  auto& pipeline = source.pipeline();
  const auto& options = pipeline.options();
  const auto& auto_choice = source.auto_choice();
  const auto timed = bench_detail::time_batches(pipeline, samples, o);
  pipeline.stop();
  const auto sampled = memory.stop();

  nlohmann::json trials = nlohmann::json::array();
  for (const auto& trial : auto_choice.trials) trials.push_back({{"workers", trial.workers}, {"images_per_s", trial.images_per_s}});
  const double images_per_s = static_cast<double>(timed.images) / std::max(timed.seconds, 1e-9);
  const auto per_image = bench_detail::per_image_ms(timed.cost);
  const nlohmann::json result = {
      {"bench", "data"}, {"dataset_path", root.string()}, {"split", o.split}, {"split_images", images.images.size()},
      {"num_landmarks", num_landmarks}, {"image_size", {input.width, input.height}}, {"batch_size", options.batch_size},
      {"num_workers", options.num_workers}, {"num_workers_auto", t.run.fit.num_workers == 0}, {"auto_trials", trials},
      {"worker_threads", pipeline.worker_count()}, {"prefetch_batches", options.prefetch_batches},
      {"memory_budget_mb", static_cast<double>(options.memory_budget_bytes) / (1 << 20)},
      {"planned_mb", static_cast<double>(pipeline.planned_bytes()) / (1 << 20)}, {"cache_mb", t.run.fit.cache_mb},
      {"cache_fit_mb", static_cast<double>(samples.cache().budget()) / (1 << 20)},
      {"cache_used_mb", static_cast<double>(samples.cache().used()) / (1 << 20)}, {"warm_cache", o.warm_cache},
      {"batches", o.batches}, {"warmup", o.warmup}, {"images", timed.images}, {"seconds", timed.seconds},
      {"images_per_s", images_per_s}, {"peak_rss_mb", peak_rss_mb()}, {"peak_pss_mb", sampled.pss_mb},
      {"peak_dirty_mb", sampled.dirty_mb},
      {"memory_method", "peak_rss_mb: VmHWM of /proc/self/status; pss, dirty (Pss_Dirty): /proc/self/smaps_rollup sampled at 20 Hz"},
      {"per_image_ms", per_image}, {"decodes", timed.cost.decodes}, {"cache_hits", timed.cost.cache_hits},
      {"skipped", timed.after.skipped - timed.before.skipped},
      {"consumer_wait_fraction",
       std::min(1.0, (timed.after.consumer_wait_s - timed.before.consumer_wait_s) / std::max(timed.seconds, 1e-9))},
  };
  std::cout << fmt::format(
      "bench data: {} images {}x{}, batch {}, {} workers, cache {} MiB{}: {:.1f} images/s, peak RSS {:.0f} MiB; "
      "per image {:.2f} ms decode + {:.2f} ms warp + {:.2f} ms rest (worker time)\n",
      timed.images, input.width, input.height, options.batch_size, options.num_workers, samples.cache().budget() >> 20,
      o.warm_cache ? " (warm)" : "", images_per_s, result["peak_rss_mb"].template get<double>(),
      per_image["decode"].template get<double>(), per_image["warp"].template get<double>(),
      per_image["rest"].template get<double>());
  std::cout << result.dump() << std::endl;
  return 0;
}

}  // namespace mixtrain::app

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/app/impl/bench_data.ipp>
#endif
