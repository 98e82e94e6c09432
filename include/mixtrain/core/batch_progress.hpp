#pragma once
// What the per-batch hooks on_train_batch and on_evaluation_batch report: how
// far one pass (an epoch's training part, or one evaluation) has come. Only
// numbers the host has anyway, so reporting progress reads nothing back from
// the device and never synchronises it.
#include <algorithm>
#include <chrono>
#include <cstdint>

namespace mixtrain {

struct batch_progress {
  std::int64_t batches = 0;        // batches of the pass done (a resumed epoch counts those done before it)
  std::int64_t batches_total = 0;  // batches in the whole pass
  std::int64_t first_batch = 0;    // batches already done when this pass started (a resumed epoch)
  std::int64_t images = 0;         // images processed since the pass started
  std::int64_t images_total = 0;   // images this pass will process (an estimate where the set's size is unknown)
  std::chrono::steady_clock::time_point started{};

  // Seconds the pass has waited for data so far. It asks the pipeline, which
  // takes a lock, so it is called only when something is printed.
  [[nodiscard]] double waited() const { return wait_ != nullptr ? wait_(source_) - wait_before_ : 0.0; }

  // A pass over `pipeline` (anything with wait_seconds()) starting now, with
  // `skipped` batches already done and `samples` samples in its split (0: unknown).
  template <class Pipeline>
  static batch_progress start(Pipeline& pipeline, std::int64_t skipped, std::int64_t samples,
                              std::int64_t batch_size) {
    batch_progress p;
    p.batches = p.first_batch = skipped;
    p.batches_total = pipeline.batches_per_epoch();
    p.images_total = expected_images(p.batches_total - skipped, batch_size, samples - skipped * batch_size);
    p.started = std::chrono::steady_clock::now();
    p.source_ = &pipeline;
    p.wait_ = [](void* source) -> double { return static_cast<Pipeline*>(source)->wait_seconds(); };
    p.wait_before_ = pipeline.wait_seconds();
    return p;
  }

  // The images `batches` batches will hold, for `samples` samples in the split
  // (<= 0: unknown, then every batch full). A pipeline may produce each sample
  // once per view (test-time augmentation), so: the smallest whole number of
  // views that needs exactly that many batches.
  static std::int64_t expected_images(std::int64_t batches, std::int64_t batch_size, std::int64_t samples) {
    const auto full = batches * batch_size;
    if (samples <= 0 || batches <= 0) return std::max<std::int64_t>(full, 0);
    const auto views = (batches - 1) * batch_size / samples + 1;
    return views * samples <= full ? views * samples : full;
  }

  // After one more batch of `size` images.
  void add(std::int64_t size) {
    ++batches;
    images += size;
  }

 private:
  // Type-erased without std::function: a pointer and a plain function.
  void* source_ = nullptr;
  double (*wait_)(void*) = nullptr;
  double wait_before_ = 0;
};

// The samples in a split where its type tells (size() or images.size()), else 0.
template <class Set>
std::int64_t samples_in(const Set& set) {
  if constexpr (requires { set.size(); }) return static_cast<std::int64_t>(set.size());
  else if constexpr (requires { set.images.size(); }) return static_cast<std::int64_t>(set.images.size());
  else return 0;
}

}  // namespace mixtrain
