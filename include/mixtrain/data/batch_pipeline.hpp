#pragma once
// The data pipeline: a pool of worker threads produces samples (decode, warp,
// augment), each written straight into its slot of an in-order batch, and
// batches reach the trainer through a bounded window. Memory is bounded by
// construction: the window holds at most `prefetch_batches` batches, and the
// number of samples decoding at once is capped so that
//   cache + (prefetch + 1) * batch bytes + decodes * per-sample transient bytes
// stays within the byte budget, whatever the number of workers. (The "+ 1" is
// the batch the trainer holds while the window refills.) Only as many threads
// are started as may decode at once, so memory that an allocator keeps per
// thread cannot grow with a --num_workers the budget does not allow. A cache
// larger than what the batches and decodes leave is shrunk (cache_that_fits),
// not refused: the budget is a cap, the cache an optimisation.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <mixtrain/core/separate_compilation.hpp>
#include <mixtrain/data/annotation.hpp>
#include <mixtrain/data/geometry.hpp>

namespace mixtrain::data {

struct pipeline_options {
  input_size input;
  int batch_size = 8;
  int num_workers = 2;
  int prefetch_batches = 2;
  std::size_t memory_budget_bytes = std::size_t{1} << 30;
  std::uint64_t seed = 0;
  bool shuffle = true;
  bool skip_bad_samples = false;
  // Test-time augmentation: each image is produced once per view, its views
  // next to each other in the epoch; empty means one view, the identity
  // (augment/tta.hpp).
  std::vector<affine> views;
  // Data parallelism: this process reads shard `shard` of `shards` of every
  // epoch's order (shard_order).
  int shard = 0;
  int shards = 1;
};

// Where a producer writes one sample: uint8 pixels [H, W], landmarks [L, 2] in
// input pixels, presence [L], and the transform that took the original there.
struct sample_slot {
  std::uint8_t* pixels = nullptr;
  float* landmarks = nullptr;
  float* present = nullptr;
  affine* input_from_original = nullptr;
  std::int32_t* image_label = nullptr;  // the image's class label (Aariz: its CVM stage), -1 when none
};

struct sample_request {
  std::size_t dataset_index = 0;
  std::uint64_t epoch = 0;
  affine view = affine(1, 0, 0, 0, 1, 0);  // composed after the letterbox (test-time augmentation)
};

// A batch of uint8 images and landmark coordinates: what crosses to the trainer.
struct batch {
  std::int64_t index = 0;  // position in the epoch
  int size = 0;
  int height = 0;
  int width = 0;
  int num_landmarks = 0;
  std::vector<std::uint8_t> pixels;   // [size, height, width]
  std::vector<float> landmarks;       // [size, L, 2]
  std::vector<float> present;         // [size, L]; 0 = missing or skipped
  std::vector<std::size_t> dataset_indices;  // an image's views repeat its index
  std::vector<affine> input_from_original;
  std::vector<std::int32_t> image_labels;  // [size]; the image's class label (Aariz: CVM stage), -1 = none
  std::vector<std::string> skipped;   // messages of bad samples skipped in this batch

  [[nodiscard]] std::size_t bytes() const {
    return pixels.size() + (landmarks.size() + present.size()) * sizeof(float) +
           dataset_indices.size() * sizeof(std::size_t) + input_from_original.size() * sizeof(affine) +
           image_labels.size() * sizeof(std::int32_t);
  }
};

// Accumulated timings, in seconds, for the "where does time go" report.
struct pipeline_stats {
  double consumer_wait_s = 0;  // time the trainer spent waiting in next()
  std::int64_t samples = 0;
  std::int64_t skipped = 0;
  // High-water marks of what the budget formula accounts for.
  int peak_decoding = 0;                 // samples being produced at once
  std::int64_t peak_queued_batches = 0;  // batches in the window (excluding the trainer's)
  std::size_t peak_accounted_bytes = 0;  // cache + (queued + 1) * batch + decoding * transient
};

// Any sample source: fills a slot for a request; throws data_error on bad input.
class sample_producer {
 public:
  virtual ~sample_producer() = default;
  virtual void produce(const sample_request& request, const sample_slot& slot) = 0;
  // Upper bound of the bytes one sample holds while it is being produced.
  [[nodiscard]] virtual std::size_t transient_bytes_per_sample() const = 0;
  // Bytes the producer keeps between samples (a decoded-image cache).
  [[nodiscard]] virtual std::size_t resident_bytes_limit() const { return 0; }
};

class batch_pipeline {
 public:
  MIXTRAIN_COLD batch_pipeline(std::size_t dataset_size, int num_landmarks, pipeline_options options, sample_producer& producer);

  batch_pipeline(const batch_pipeline&) = delete;
  batch_pipeline& operator=(const batch_pipeline&) = delete;

  ~batch_pipeline() { stop(); }

  // Stops the workers and joins them; safe to call mid-epoch and more than once.
  MIXTRAIN_COLD void stop();

  [[nodiscard]] std::int64_t batches_per_epoch() const {
    return static_cast<std::int64_t>((samples_ + options_.batch_size - 1) / options_.batch_size);
  }
  // Samples produced at once; also the number of worker threads started.
  [[nodiscard]] int concurrent_decodes() const { return concurrent_decodes_; }
  [[nodiscard]] int worker_count() const { return static_cast<int>(workers_.size()); }
  // What the budget formula allows for: cache + (prefetch + 1) * batch + decodes * transient.
  [[nodiscard]] std::size_t planned_bytes() const {
    return producer_.resident_bytes_limit() + (static_cast<std::size_t>(options_.prefetch_batches) + 1) * batch_bytes_ +
           static_cast<std::size_t>(concurrent_decodes_) * producer_.transient_bytes_per_sample();
  }
  [[nodiscard]] std::size_t batch_bytes() const { return batch_bytes_; }
  [[nodiscard]] const pipeline_options& options() const { return options_; }
  [[nodiscard]] pipeline_stats stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
  }

  // How the byte budget splits: one batch's bytes, and how many samples may
  // be produced at once (never more than --num_workers, nor than the window
  // of prefetch_batches * batch_size samples can use). Throws with what to
  // change when not even one sample fits.
  struct memory_plan {
    std::size_t batch_bytes = 0;
    int concurrent_decodes = 1;
  };

  MIXTRAIN_COLD static memory_plan plan_for(const pipeline_options& options, int num_landmarks, const sample_producer& producer);

  // The part of an asked decoded-image cache that fits in the budget next to
  // the batches in flight and the samples produced at once: as many as
  // options.num_workers and the window can use, fewer (down to one) when the
  // budget is short. The workers come first because samples missing from a
  // cache too small for the split are decoded every epoch. Throws with what
  // to change when not even the batches and one decode fit.
  MIXTRAIN_COLD static std::size_t cache_that_fits(const pipeline_options& options, int num_landmarks, std::size_t transient_bytes,
                                     std::size_t asked_bytes);

  // The epoch's sample order: a permutation that depends only on (seed, epoch).
  [[nodiscard]] MIXTRAIN_COLD std::vector<std::size_t> epoch_order(std::uint64_t epoch) const;

  // Samples per shard: the order is padded to a multiple of the shard count.
  static std::size_t shard_size(std::size_t dataset_size, int shards) {
    const auto n = static_cast<std::size_t>(std::max(shards, 1));
    return (dataset_size + n - 1) / n;
  }

  // This shard's part of the epoch order. The order is padded to a multiple
  // of the shard count by repeating its first samples (at most shards - 1 of
  // them), and shard s takes positions s, s + shards, s + 2 shards, ...: every
  // sample is read at least once per epoch, every shard has as many batches,
  // and batch k of all shards together holds exactly the samples of batch k of
  // one process whose batch is shards times larger (the same global batch).
  [[nodiscard]] MIXTRAIN_COLD std::vector<std::size_t> shard_order(std::uint64_t epoch) const;

  // Begins producing epoch `epoch`, starting at batch `first_batch` (resume).
  MIXTRAIN_COLD void start_epoch(std::uint64_t epoch, std::int64_t first_batch = 0);

  // The next batch in order, or nullopt at the end of the epoch. A worker's
  // exception (a bad file without --skip_bad_samples) is rethrown here.
  MIXTRAIN_COLD std::optional<batch> next();

 private:
  struct slot {
    batch data;
    int remaining = 0;
  };

  static std::size_t batch_bytes_for(const pipeline_options& options, int num_landmarks) {
    const auto pixels = static_cast<std::size_t>(options.input.width) * static_cast<std::size_t>(options.input.height);
    const auto l = static_cast<std::size_t>(num_landmarks);
    return static_cast<std::size_t>(options.batch_size) *
           (pixels + l * 3 * sizeof(float) + sizeof(std::size_t) + sizeof(affine));
  }
  // The window's batches and the one the trainer holds.
  static std::size_t batches_bytes(const pipeline_options& options, std::size_t batch_bytes) {
    return (static_cast<std::size_t>(options.prefetch_batches) + 1) * batch_bytes;
  }
  // Never more than --num_workers, nor than the window's samples.
  static std::size_t wanted_decodes(const pipeline_options& options) {
    return std::min(static_cast<std::size_t>(std::max(options.num_workers, 1)),
                    static_cast<std::size_t>(options.prefetch_batches) * static_cast<std::size_t>(options.batch_size));
  }
  MIXTRAIN_COLD static std::invalid_argument too_small(const pipeline_options& options, std::size_t fixed, std::size_t transient,
                                         bool with_cache);

  void plan_memory() {
    const auto plan = plan_for(options_, num_landmarks_, producer_);
    batch_bytes_ = plan.batch_bytes;
    concurrent_decodes_ = plan.concurrent_decodes;
  }

  [[nodiscard]] std::size_t views() const { return std::max<std::size_t>(1, options_.views.size()); }

  // Caller holds the lock.
  [[nodiscard]] bool can_start_sample() const {
    if (!epoch_active_ || error_ || next_sample_ >= samples_ || decoding_ >= concurrent_decodes_) return false;
    const auto batch_index = static_cast<std::int64_t>(next_sample_ / static_cast<std::size_t>(options_.batch_size));
    return batch_index < consumer_batch_ + options_.prefetch_batches;
  }

  MIXTRAIN_COLD slot& slot_for(std::int64_t batch_index);

  // Caller holds the lock.
  void note_peaks() {
    stats_.peak_decoding = std::max(stats_.peak_decoding, decoding_);
    const auto queued = static_cast<std::int64_t>(slots_.size());
    stats_.peak_queued_batches = std::max(stats_.peak_queued_batches, queued);
    const auto accounted = producer_.resident_bytes_limit() + static_cast<std::size_t>(queued + 1) * batch_bytes_ +
                           static_cast<std::size_t>(decoding_) * producer_.transient_bytes_per_sample();
    stats_.peak_accounted_bytes = std::max(stats_.peak_accounted_bytes, accounted);
  }

  // Any other failure in a worker (a bug in an augmentation, an exhausted
  // allocator, an exception of any type) reaches next() as a std::exception
  // that says which sample, so the program's entry point reports it by name.
  // Called inside a catch block.
  MIXTRAIN_COLD static std::exception_ptr named_failure(std::size_t dataset_index) noexcept;

  void fail(std::exception_ptr failure) {  // caller holds the lock
    if (!error_) error_ = std::move(failure);
    batch_ready_.notify_all();
    work_ready_.notify_all();
  }

  MIXTRAIN_COLD void work();

  pipeline_options options_;
  std::size_t dataset_size_;
  std::size_t samples_;  // per epoch: dataset_size_ times the views
  int num_landmarks_;
  sample_producer& producer_;
  std::size_t batch_bytes_ = 0;
  int concurrent_decodes_ = 1;

  mutable std::mutex mutex_;
  std::mutex join_mutex_;
  std::condition_variable work_ready_;
  std::condition_variable batch_ready_;
  bool stopping_ = false;
  bool epoch_active_ = false;
  std::uint64_t epoch_ = 0;
  std::vector<std::size_t> order_;
  std::size_t next_sample_ = 0;
  std::int64_t consumer_batch_ = 0;
  int decoding_ = 0;
  std::map<std::int64_t, std::unique_ptr<slot>> slots_;
  std::exception_ptr error_;
  pipeline_stats stats_;
  std::vector<std::thread> workers_;
};

}  // namespace mixtrain::data

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/data/impl/batch_pipeline.ipp>
#endif
