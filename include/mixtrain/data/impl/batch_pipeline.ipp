#pragma once
// Definitions of the functions declared in <mixtrain/data/batch_pipeline.hpp>: included at its
// end (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <random>

#include <range/v3/action/shuffle.hpp>
#include <range/v3/algorithm/copy.hpp>
#include <range/v3/view/iota.hpp>

#include <mixtrain/data/batch_pipeline.hpp>

namespace mixtrain::data {

MIXTRAIN_COLD batch_pipeline::batch_pipeline(std::size_t dataset_size, int num_landmarks, pipeline_options options, sample_producer& producer)
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

MIXTRAIN_COLD void batch_pipeline::stop() {
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

MIXTRAIN_COLD batch_pipeline::memory_plan batch_pipeline::plan_for(const pipeline_options& options, int num_landmarks, const sample_producer& producer) {
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

MIXTRAIN_COLD std::size_t batch_pipeline::cache_that_fits(const pipeline_options& options, int num_landmarks, std::size_t transient_bytes, std::size_t asked_bytes) {
  const auto batches = batches_bytes(options, batch_bytes_for(options, num_landmarks));
  const auto transient = std::max<std::size_t>(transient_bytes, 1);
  if (batches + transient > options.memory_budget_bytes) throw too_small(options, batches, transient, false);
  const auto room = options.memory_budget_bytes - batches;
  const auto decodes = std::min(wanted_decodes(options), room / transient);
  return std::min(asked_bytes, room - decodes * transient);
}

MIXTRAIN_COLD std::vector<std::size_t> batch_pipeline::epoch_order(std::uint64_t epoch) const {
  std::vector<std::size_t> order(dataset_size_);
  ranges::copy(ranges::views::iota(std::size_t{0}, dataset_size_), order.begin());
  if (options_.shuffle) {
    std::mt19937_64 engine(options_.seed * 0x9E3779B97F4A7C15ULL + epoch + 1);
    order |= ranges::actions::shuffle(engine);
  }
  return order;
}

MIXTRAIN_COLD std::vector<std::size_t> batch_pipeline::shard_order(std::uint64_t epoch) const {
  auto order = epoch_order(epoch);
  if (options_.shards <= 1) return order;
  const auto n = static_cast<std::size_t>(options_.shards);
  const auto size = shard_size(dataset_size_, options_.shards);
  std::vector<std::size_t> out;
  out.reserve(size);
  for (std::size_t i = 0; i < size; ++i) out.push_back(order[(i * n + static_cast<std::size_t>(options_.shard)) % dataset_size_]);
  return out;
}

MIXTRAIN_COLD void batch_pipeline::start_epoch(std::uint64_t epoch, std::int64_t first_batch) {
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

MIXTRAIN_COLD std::optional<batch> batch_pipeline::next() {
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

MIXTRAIN_COLD std::invalid_argument batch_pipeline::too_small(const pipeline_options& options, std::size_t fixed, std::size_t transient, bool with_cache) {
  const auto mib_up = [](std::size_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20); };
  return std::invalid_argument(
      "--memory_budget_mb " + std::to_string(options.memory_budget_bytes >> 20) + " is too small: " +
      std::to_string(options.prefetch_batches + 1) + " batches of " + std::to_string(options.batch_size) + " take " +
      mib_up(fixed) + " MiB" + (with_cache ? " (cache included)" : "") + " and decoding one sample needs up to " +
      mib_up(transient) + " MiB; raise the budget or lower --prefetch_batches, --batch_size or --image_size" +
      (with_cache ? " or --cache_mb" : ""));
}

MIXTRAIN_COLD batch_pipeline::slot& batch_pipeline::slot_for(std::int64_t batch_index) {
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

MIXTRAIN_COLD std::exception_ptr batch_pipeline::named_failure(std::size_t dataset_index) noexcept {
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

MIXTRAIN_COLD void batch_pipeline::work() {
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
}  // namespace mixtrain::data
