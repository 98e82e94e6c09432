#pragma once
// Definitions of the functions declared in <mixtrain/data/worker_count.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/data/worker_count.hpp>

namespace mixtrain::data {
namespace detail {

MIXTRAIN_COLD std::vector<int> worker_candidates(int largest) {
  std::vector<int> out;
  for (int n : {1, 2, 3, 4, 6, 8, 12, 16})
    if (n <= largest) out.push_back(n);
  if (out.empty() || out.back() != largest) out.push_back(largest);
  return out;
}

}  // namespace detail

MIXTRAIN_COLD int auto_worker_limit(int max_workers) {
  const int hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return max_workers > 0 ? max_workers : std::min(16, 2 * hardware);
}

MIXTRAIN_COLD worker_choice measure_worker_counts(std::size_t dataset_size, int num_landmarks, pipeline_options options,
                                                  sample_producer& producer, const worker_search& search) {
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  int largest = auto_worker_limit(search.max_workers);
  // More workers than the budget or the window lets decode at once would only idle.
  options.num_workers = largest;
  largest = std::min(largest, batch_pipeline::plan_for(options, num_landmarks, producer).concurrent_decodes);
  options.shuffle = false;
  options.skip_bad_samples = true;  // a bad file is reported by the real run, not by the measurement

  worker_choice choice;
  std::size_t offset = 0;
  int worse_in_a_row = 0;
  double best = 0;
  for (const int workers : detail::worker_candidates(largest)) {
    if (std::chrono::duration<double>(clock::now() - started).count() > search.total_seconds) {
      choice.note = "time limit reached";
      break;
    }
    if (offset >= dataset_size) {
      if (producer.resident_bytes_limit() > 0) {  // samples seen again would come from the cache
        choice.note = "dataset exhausted";
        break;
      }
      offset %= dataset_size;  // no cache: decoding a sample again costs the same
    }
    detail::offset_producer fresh(producer, offset, dataset_size);
    options.num_workers = workers;
    worker_trial trial;
    trial.workers = workers;
    {
      const auto trial_size = producer.resident_bytes_limit() > 0 ? dataset_size - offset : dataset_size;
      batch_pipeline pipeline(trial_size, num_landmarks, options, fresh);
      pipeline.start_epoch(0x5eed0000ULL + static_cast<std::uint64_t>(workers));
      if (!pipeline.next()) break;  // the first batch includes thread start-up: not timed
      const auto timed_from = clock::now();
      while (auto b = pipeline.next()) {
        trial.images += b->size;
        trial.seconds = std::chrono::duration<double>(clock::now() - timed_from).count();
        if (trial.seconds >= search.seconds_per_trial) break;
      }
      pipeline.stop();
    }
    offset += fresh.produced();
    if (trial.images == 0 || trial.seconds <= 0) break;  // too few samples left to measure
    trial.images_per_s = static_cast<double>(trial.images) / trial.seconds;
    choice.trials.push_back(trial);
    worse_in_a_row = trial.images_per_s > best * (1 + search.tolerance) ? 0 : worse_in_a_row + 1;
    best = std::max(best, trial.images_per_s);
    if (worse_in_a_row >= 2) break;  // two counts in a row without a real gain: the curve is flat
  }
  for (const auto& t : choice.trials)
    if (t.images_per_s >= best * (1 - search.tolerance)) {
      choice.workers = t.workers;
      break;
    }
  if (search.log) {
    std::string line = "num_workers auto:";
    for (const auto& t : choice.trials) line += fmt::format(" {} -> {:.1f} img/s;", t.workers, t.images_per_s);
    line += fmt::format(" chose {} ({:.1f} s{}{})\n", choice.workers,
                        std::chrono::duration<double>(clock::now() - started).count(), choice.note.empty() ? "" : ", ",
                        choice.note);
    *search.log << line << std::flush;
  }
  return choice;
}

MIXTRAIN_COLD int choose_num_workers(std::size_t dataset_size, int num_landmarks, const pipeline_options& options,
                                     sample_producer& producer, const worker_search& search) {
  return measure_worker_counts(dataset_size, num_landmarks, options, producer, search).workers;
}

}  // namespace mixtrain::data
