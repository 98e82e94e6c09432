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

#include <range/v3/action/shuffle.hpp>
#include <range/v3/algorithm/copy.hpp>
#include <range/v3/range/conversion.hpp>
#include <range/v3/view/iota.hpp>
#include <range/v3/view/slice.hpp>

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
  batch_pipeline(std::size_t dataset_size, int num_landmarks, pipeline_options options, sample_producer& producer)
      : options_(options), dataset_size_(dataset_size),
        samples_(shard_size(dataset_size, options.shards) * std::max<std::size_t>(1, options.views.size())),
        num_landmarks_(num_landmarks), producer_(producer) {
    if (options_.shards < 1 || options_.shard < 0 || options_.shard >= options_.shards)
      throw std::invalid_argument("shard " + std::to_string(options_.shard) + " of " + std::to_string(options_.shards) +
                                  " does not exist");
    if (options_.batch_size < 1) throw std::invalid_argument("--batch_size must be at least 1");
    if (options_.num_workers < 1) throw std::invalid_argument("--num_workers must be at least 1");
    if (options_.prefetch_batches < 1) throw std::invalid_argument("--prefetch_batches must be at least 1");
    if (dataset_size_ == 0) throw std::invalid_argument("the data pipeline needs at least one sample");
    plan_memory();
    try {
      for (int i = 0; i < concurrent_decodes_; ++i) workers_.emplace_back([this] { work(); });
    } catch (...) {
      stop();  // the threads already started must be joined before unwinding
      throw;
    }
  }

  batch_pipeline(const batch_pipeline&) = delete;
  batch_pipeline& operator=(const batch_pipeline&) = delete;

  ~batch_pipeline() { stop(); }

  // Stops the workers and joins them; safe to call mid-epoch and more than once.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_ready_.notify_all();
    batch_ready_.notify_all();
    std::lock_guard join_lock(join_mutex_);
    for (auto& worker : workers_)
      if (worker.joinable()) worker.join();
  }

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

  static memory_plan plan_for(const pipeline_options& options, int num_landmarks, const sample_producer& producer) {
    memory_plan plan;
    plan.batch_bytes = batch_bytes_for(options, num_landmarks);
    const auto fixed = producer.resident_bytes_limit() + batches_bytes(options, plan.batch_bytes);
    const auto transient = std::max<std::size_t>(producer.transient_bytes_per_sample(), 1);
    if (fixed + transient > options.memory_budget_bytes)
      throw too_small(options, fixed, transient, producer.resident_bytes_limit() > 0);
    plan.concurrent_decodes = static_cast<int>(
        std::min(wanted_decodes(options), (options.memory_budget_bytes - fixed) / transient));
    return plan;
  }

  // The part of an asked decoded-image cache that fits in the budget next to
  // the batches in flight and the samples produced at once: as many as
  // options.num_workers and the window can use, fewer (down to one) when the
  // budget is short. The workers come first because samples missing from a
  // cache too small for the split are decoded every epoch. Throws with what
  // to change when not even the batches and one decode fit.
  static std::size_t cache_that_fits(const pipeline_options& options, int num_landmarks, std::size_t transient_bytes,
                                     std::size_t asked_bytes) {
    const auto batches = batches_bytes(options, batch_bytes_for(options, num_landmarks));
    const auto transient = std::max<std::size_t>(transient_bytes, 1);
    if (batches + transient > options.memory_budget_bytes) throw too_small(options, batches, transient, false);
    const auto room = options.memory_budget_bytes - batches;
    const auto decodes = std::min(wanted_decodes(options), room / transient);
    return std::min(asked_bytes, room - decodes * transient);
  }

  // The epoch's sample order: a permutation that depends only on (seed, epoch).
  [[nodiscard]] std::vector<std::size_t> epoch_order(std::uint64_t epoch) const {
    std::vector<std::size_t> order(dataset_size_);
    ranges::copy(ranges::views::iota(std::size_t{0}, dataset_size_), order.begin());
    if (options_.shuffle) {
      std::mt19937_64 engine(options_.seed * 0x9E3779B97F4A7C15ULL + epoch + 1);
      order |= ranges::actions::shuffle(engine);
    }
    return order;
  }

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
  [[nodiscard]] std::vector<std::size_t> shard_order(std::uint64_t epoch) const {
    auto order = epoch_order(epoch);
    if (options_.shards <= 1) return order;
    const auto n = static_cast<std::size_t>(options_.shards);
    const auto size = shard_size(dataset_size_, options_.shards);
    std::vector<std::size_t> out;
    out.reserve(size);
    for (std::size_t i = 0; i < size; ++i) out.push_back(order[(i * n + static_cast<std::size_t>(options_.shard)) % dataset_size_]);
    return out;
  }

  // Begins producing epoch `epoch`, starting at batch `first_batch` (resume).
  void start_epoch(std::uint64_t epoch, std::int64_t first_batch = 0) {
    {
      std::unique_lock lock(mutex_);
      if (error_) std::rethrow_exception(error_);
      // Samples still being written belong to slots about to be dropped.
      epoch_active_ = false;
      work_ready_.wait(lock, [&] { return decoding_ == 0; });
      order_ = shard_order(epoch);
      epoch_ = epoch;
      slots_.clear();
      next_sample_ = static_cast<std::size_t>(first_batch) * static_cast<std::size_t>(options_.batch_size);
      next_sample_ = std::min(next_sample_, samples_);
      consumer_batch_ = first_batch;
      epoch_active_ = true;
    }
    work_ready_.notify_all();
  }

  // The next batch in order, or nullopt at the end of the epoch. A worker's
  // exception (a bad file without --skip_bad_samples) is rethrown here.
  std::optional<batch> next() {
    const auto started = std::chrono::steady_clock::now();
    std::unique_lock lock(mutex_);
    if (!epoch_active_) throw std::logic_error("batch_pipeline::next called before start_epoch");
    if (consumer_batch_ >= batches_per_epoch()) {
      epoch_active_ = false;
      return std::nullopt;
    }
    batch_ready_.wait(lock, [&] {
      const auto it = slots_.find(consumer_batch_);
      return stopping_ || error_ || (it != slots_.end() && it->second->remaining == 0);
    });
    if (error_) std::rethrow_exception(error_);
    if (stopping_) throw std::runtime_error("the data pipeline was stopped");
    auto node = slots_.extract(consumer_batch_);
    ++consumer_batch_;
    stats_.consumer_wait_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    stats_.samples += node.mapped()->data.size;
    stats_.skipped += static_cast<std::int64_t>(node.mapped()->data.skipped.size());
    lock.unlock();
    work_ready_.notify_all();  // the window moved: workers may start the next batch
    return std::move(node.mapped()->data);
  }

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
  static std::invalid_argument too_small(const pipeline_options& options, std::size_t fixed, std::size_t transient,
                                         bool with_cache) {
    const auto mib_up = [](std::size_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20); };
    return std::invalid_argument(
        "--memory_budget_mb " + std::to_string(options.memory_budget_bytes >> 20) + " is too small: " +
        std::to_string(options.prefetch_batches + 1) + " batches of " + std::to_string(options.batch_size) + " take " +
        mib_up(fixed) + " MiB" + (with_cache ? " (cache included)" : "") + " and decoding one sample needs up to " +
        mib_up(transient) + " MiB; raise the budget or lower --prefetch_batches, --batch_size or --image_size" +
        (with_cache ? " or --cache_mb" : ""));
  }

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

  slot& slot_for(std::int64_t batch_index) {
    auto& entry = slots_[batch_index];
    if (!entry) {
      entry = std::make_unique<slot>();
      auto& b = entry->data;
      const auto first = static_cast<std::size_t>(batch_index) * static_cast<std::size_t>(options_.batch_size);
      b.index = batch_index;
      b.size = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(options_.batch_size), samples_ - first));
      b.height = options_.input.height;
      b.width = options_.input.width;
      b.num_landmarks = num_landmarks_;
      const auto n = static_cast<std::size_t>(b.size);
      b.pixels.resize(n * static_cast<std::size_t>(b.height) * static_cast<std::size_t>(b.width));
      b.landmarks.resize(n * static_cast<std::size_t>(num_landmarks_) * 2);
      b.present.resize(n * static_cast<std::size_t>(num_landmarks_));
      b.dataset_indices.resize(n);
      for (std::size_t i = 0; i < n; ++i) b.dataset_indices[i] = order_[(first + i) / views()];
      b.input_from_original.resize(n);
      b.image_labels.assign(n, -1);
      entry->remaining = b.size;
    }
    return *entry;
  }

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
  static std::exception_ptr named_failure(std::size_t dataset_index) noexcept {
    const auto original = std::current_exception();
    try {
      std::string what = "an exception that is not a std::exception";
      try {
        std::rethrow_exception(original);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      return std::make_exception_ptr(
          std::runtime_error("data worker failed on sample " + std::to_string(dataset_index) + ": " + what));
    } catch (...) {
      return original;  // no memory left to say more
    }
  }

  void fail(std::exception_ptr failure) {  // caller holds the lock
    if (!error_) error_ = std::move(failure);
    batch_ready_.notify_all();
    work_ready_.notify_all();
  }

  void work() {
    std::unique_lock lock(mutex_);
    while (true) {
      work_ready_.wait(lock, [&] { return stopping_ || can_start_sample(); });
      if (stopping_) return;
      const std::size_t position = next_sample_++;
      const auto batch_index = static_cast<std::int64_t>(position / static_cast<std::size_t>(options_.batch_size));
      slot* target_ptr = nullptr;
      try {
        target_ptr = &slot_for(batch_index);
      } catch (...) {  // allocation failure: fatal, but never a hang
        fail(std::current_exception());
        continue;
      }
      slot& target = *target_ptr;
      const auto in_batch = position % static_cast<std::size_t>(options_.batch_size);
      const sample_request request{target.data.dataset_indices[in_batch], epoch_,
                                   options_.views.empty() ? affine(1, 0, 0, 0, 1, 0) : options_.views[position % views()]};
      ++decoding_;
      note_peaks();
      lock.unlock();

      auto& b = target.data;
      const auto pixels = static_cast<std::size_t>(b.height) * static_cast<std::size_t>(b.width);
      const auto l = static_cast<std::size_t>(num_landmarks_);
      const sample_slot out{b.pixels.data() + in_batch * pixels, b.landmarks.data() + in_batch * l * 2,
                            b.present.data() + in_batch * l, b.input_from_original.data() + in_batch,
                            b.image_labels.data() + in_batch};
      std::exception_ptr failure;
      std::string skipped;
      try {
        producer_.produce(request, out);
      } catch (const data_error& e) {
        if (options_.skip_bad_samples) {
          try {
            skipped = e.what();
          } catch (...) {
            skipped = "(message lost)";
          }
          std::fill(out.present, out.present + l, 0.0f);  // contributes nothing to loss or metrics
          *out.image_label = -1;
        } else {
          failure = std::current_exception();
        }
      } catch (...) {
        failure = named_failure(request.dataset_index);
      }

      lock.lock();
      --decoding_;
      if (failure) {
        fail(failure);
        continue;
      }
      if (!skipped.empty()) target.data.skipped.push_back(std::move(skipped));
      if (--target.remaining == 0) batch_ready_.notify_all();
      work_ready_.notify_all();
    }
  }

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
