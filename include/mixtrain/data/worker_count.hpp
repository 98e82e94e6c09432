#pragma once
// --num_workers auto: measure, do not guess. Runs the real sample producer
// through the real pipeline (same batch size, window and byte budget) for a
// short, bounded time at each candidate worker count, and returns the
// smallest count whose images/s is within `tolerance` of the best measured.
//
// Each candidate decodes samples the previous candidates did not touch (the
// trial walks on through the dataset), so a decoded-image cache cannot make a
// later candidate look faster; when the dataset runs out, the search stops if
// a cache is on and wraps around if not.
// The pipeline is measured alone: on a CPU-only machine the training step
// competes for the same cores, so the count chosen here is an upper bound of
// what helps there.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include <mixtrain/data/batch_pipeline.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::data {

struct worker_search {
  int max_workers = 0;              // 0: twice the hardware threads, at most 16
  double seconds_per_trial = 1.5;   // timed part of one candidate (after its first batch)
  double total_seconds = 15;        // no new candidate starts after this much time
  double tolerance = 0.05;          // counts within this fraction of the best are as good
  std::ostream* log = nullptr;      // one line with the measurements and the choice
};

struct worker_trial {
  int workers = 0;
  double images_per_s = 0;
  std::int64_t images = 0;
  double seconds = 0;
};

struct worker_choice {
  int workers = 1;
  std::vector<worker_trial> trials;
  std::string note;  // why the search stopped early, if it did
};

namespace detail {

// Serves dataset indices offset + i (mod size) of the real producer and counts them.
class offset_producer final : public sample_producer {
 public:
  offset_producer(sample_producer& inner, std::size_t offset, std::size_t dataset_size)
      : inner_(inner), offset_(offset), size_(dataset_size) {}
  void produce(const sample_request& request, const sample_slot& slot) override {
    ++produced_;
    inner_.produce({(offset_ + request.dataset_index) % size_, request.epoch}, slot);
  }
  [[nodiscard]] std::size_t transient_bytes_per_sample() const override { return inner_.transient_bytes_per_sample(); }
  [[nodiscard]] std::size_t resident_bytes_limit() const override { return inner_.resident_bytes_limit(); }
  [[nodiscard]] std::size_t produced() const { return produced_.load(); }

 private:
  sample_producer& inner_;
  std::size_t offset_;
  std::size_t size_;
  std::atomic<std::size_t> produced_{0};
};

MIXTRAIN_COLD std::vector<int> worker_candidates(int largest);

}  // namespace detail

// The largest count the search tries: max_workers, or twice the hardware
// threads (at most 16) when 0; the budget and the window may lower it.
MIXTRAIN_COLD int auto_worker_limit(int max_workers = 0);

MIXTRAIN_COLD worker_choice measure_worker_counts(std::size_t dataset_size, int num_landmarks, pipeline_options options,
                                                  sample_producer& producer, const worker_search& search = {});

// The worker count to use for this producer and these options, measured.
// Options are the pipeline's (batch size, window, budget); their num_workers
// is ignored.
MIXTRAIN_COLD int choose_num_workers(std::size_t dataset_size, int num_landmarks, const pipeline_options& options,
                                     sample_producer& producer, const worker_search& search = {});

}  // namespace mixtrain::data

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/data/impl/worker_count.ipp>
#endif
