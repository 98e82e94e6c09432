// The data pipeline's mechanics: determinism across worker counts, the memory
// bound, skipped samples, the decoded-image cache, --num_workers auto (under a
// watchdog: a deadlock fails the test instead of hanging it). Faults and
// shutdown: test_pipeline_faults.cpp.
// No assertion here depends on how fast the machine is.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <mixtrain/core/data_source.hpp>
#include <mixtrain/data/landmark_images.hpp>
#include <mixtrain/data/worker_count.hpp>

#include "../support/watchdog.hpp"
#include "pipeline_support.hpp"

namespace fs = std::filesystem;
using namespace mixtrain;
using namespace mixtrain::testing::pipeline;
using namespace std::chrono_literals;
using mixtrain::testing::finishes_within;
using mixtrain::testing::hang_bound;

TEST_CASE("pipeline: batches are identical with 1 and 4 workers, with or without the cache") {
  small_dataset d(10);
  const int l = static_cast<int>(d.landmarks.size());
  // 10 images in batches of 3: the last batch is partial.
  const auto one = run_epochs(d.train, l, options_for(1), 0, 2);
  const auto four = run_epochs(d.train, l, options_for(4), std::size_t{64} << 20, 2);
  REQUIRE(one.size() == 8);
  REQUIRE(four.size() == one.size());
  for (std::size_t i = 0; i < one.size(); ++i) {
    INFO("batch " << i);
    CHECK(one[i].index == four[i].index);
    CHECK(one[i].size == four[i].size);
    CHECK(one[i].dataset_indices == four[i].dataset_indices);
    CHECK(one[i].pixels == four[i].pixels);
    CHECK(one[i].landmarks == four[i].landmarks);
    CHECK(one[i].present == four[i].present);
  }
  CHECK(one[3].size == 1);
  // Another epoch is another order and other augmentations.
  CHECK(one[0].dataset_indices != one[4].dataset_indices);
  std::set<std::size_t> seen;
  for (int i = 0; i < 4; ++i) seen.insert(one[static_cast<std::size_t>(i)].dataset_indices.begin(),
                                          one[static_cast<std::size_t>(i)].dataset_indices.end());
  CHECK(seen.size() == 10);
}

TEST_CASE("pipeline: concurrent samples and queued batches stay within the budget formula") {
  fake_producer producer;
  producer.transient = 10 << 20;
  producer.resident = 5 << 20;
  producer.delay = 2ms;
  auto o = fake_options(8, 2, 3);
  const auto batch_bytes = data::batch_pipeline::plan_for(o, producer.landmarks, producer).batch_bytes;
  // Room for exactly two samples in flight next to the cache and 3 + 1 batches.
  o.memory_budget_bytes = producer.resident + 4 * batch_bytes + 2 * producer.transient + producer.transient / 2;
  std::atomic<std::int64_t> consumed{0};
  std::atomic<std::int64_t> ahead{0};
  producer.on_produce = [&](std::size_t index) {
    const auto distance = static_cast<std::int64_t>(index / 2) - consumed.load();
    std::int64_t seen = ahead.load();
    while (distance > seen && !ahead.compare_exchange_weak(seen, distance)) {
    }
  };
  data::batch_pipeline pipeline(40, producer.landmarks, o, producer);
  CHECK(pipeline.concurrent_decodes() == 2);
  CHECK(pipeline.worker_count() == 2);  // 8 asked, 2 allowed: no idle threads holding memory
  CHECK(pipeline.planned_bytes() <= o.memory_budget_bytes);
  pipeline.start_epoch(0);
  std::int64_t batches = 0;
  while (auto b = pipeline.next()) {
    ++batches;
    std::this_thread::sleep_for(1ms);  // a slow trainer lets the window fill
    consumed = batches;
  }
  CHECK(batches == 20);
  CHECK(producer.most.load() <= 2);
  CHECK(producer.most.load() >= 1);
  const auto stats = pipeline.stats();
  CHECK(stats.peak_decoding <= 2);
  CHECK(stats.peak_queued_batches <= 3);
  CHECK(stats.peak_accounted_bytes <= o.memory_budget_bytes);
  // A worker never works on a batch beyond the window (+1: the trainer's batch
  // leaves the window just before this test's counter moves).
  CHECK(ahead.load() <= 3);

  SECTION("a budget that cannot hold one sample is refused with what to change") {
    auto tiny = fake_options(4);
    tiny.memory_budget_bytes = producer.resident + 3 * batch_bytes + producer.transient - 1;
    REQUIRE_THROWS_WITH(data::batch_pipeline(10, producer.landmarks, tiny, producer),
                        Catch::Contains("--memory_budget_mb") && Catch::Contains("--prefetch_batches"));
  }
}

// fake_options: 8x8 input, 2 landmarks, so one sample is 64 pixels + 2 * 3
// floats (24 bytes) + an index (8) + a 2x3 double affine (48) = 144 bytes.
TEST_CASE("pipeline: an asked cache shrinks to what the budget leaves next to the batches and decodes") {
  constexpr std::size_t mib = std::size_t{1} << 20;
  constexpr std::size_t batches = 3 * 2 * 144;  // (prefetch 2 + 1) batches of 2
  constexpr std::size_t transient = 10 * mib;
  auto o = fake_options(2, 2, 2);
  o.memory_budget_bytes = 100 * mib;
  REQUIRE(data::batch_pipeline::plan_for(o, 2, fake_producer{}).batch_bytes == 2 * 144);

  // 2 workers: room for 2 decodes is kept, the cache gets the rest.
  CHECK(data::batch_pipeline::cache_that_fits(o, 2, transient, 2048 * mib) == 100 * mib - batches - 2 * transient);
  // A cache that fits is left as asked.
  CHECK(data::batch_pipeline::cache_that_fits(o, 2, transient, 50 * mib) == 50 * mib);
  // 8 workers, but the window (2 batches of 2) can use only 4 decodes.
  o.num_workers = 8;
  CHECK(data::batch_pipeline::cache_that_fits(o, 2, transient, 2048 * mib) == 100 * mib - batches - 4 * transient);
  // Room for one decode and 3 MiB: fewer decodes rather than a refusal.
  o.memory_budget_bytes = batches + transient + 3 * mib;
  CHECK(data::batch_pipeline::cache_that_fits(o, 2, transient, 2048 * mib) == 3 * mib);
  // Not even the batches and one decode, or not even the batches: refused, naming the flags.
  for (const auto budget : {batches + transient - 1, batches - 1}) {
    o.memory_budget_bytes = budget;
    REQUIRE_THROWS_WITH(data::batch_pipeline::cache_that_fits(o, 2, transient, 0),
                        Catch::Contains("--memory_budget_mb") && Catch::Contains("--batch_size") &&
                            !Catch::Contains("cache included"));
  }

  SECTION("a pipeline with the shrunk cache plans exactly the budget and stays within it") {
    fake_producer producer;
    producer.transient = transient;
    producer.delay = 1ms;
    auto two = fake_options(2, 2, 2);
    two.memory_budget_bytes = 100 * mib;
    producer.resident = data::batch_pipeline::cache_that_fits(two, producer.landmarks, transient, 2048 * mib);
    data::batch_pipeline pipeline(20, producer.landmarks, two, producer);
    CHECK(pipeline.concurrent_decodes() == 2);
    CHECK(pipeline.planned_bytes() == 100 * mib);
    pipeline.start_epoch(0);
    const int n = finishes_within(hang_bound, "an epoch with a shrunk cache", [&] {
      int count = 0;
      while (pipeline.next()) ++count;
      return count;
    });
    CHECK(n == 10);
    CHECK(pipeline.stats().peak_decoding <= 2);
    CHECK(pipeline.stats().peak_accounted_bytes <= 100 * mib);
  }
}

TEST_CASE("pipeline: a source's cache is shrunk to the budget and logged once, or refused below the batches") {
  constexpr std::size_t mib = std::size_t{1} << 20;
  small_dataset d(6);
  const int l = static_cast<int>(d.landmarks.size());
  pipeline_settings s;
  s.batch_size = 2;
  s.num_workers = 2;
  s.prefetch_batches = 2;
  s.memory_budget_bytes = 64 * mib;
  s.cache_bytes = 2048 * mib;
  s.seed = 3;
  std::ostringstream log;
  s.log = &log;
  const data::input_size input{64, 64};
  // One sample: 64 * 64 pixels + l * 3 floats + an index + a 2x3 double affine.
  const std::size_t batches = 3 * 2 * (64 * 64 + static_cast<std::size_t>(l) * 12 + 8 + 48);

  data::sample_pipeline<augmentations> source(d.train, l, input, augmentations{}, s);
  const auto transient = source.samples().transient_bytes_per_sample();
  const auto fit = 64 * mib - batches - 2 * transient;  // 2 workers' decodes stay in the budget
  CHECK(source.samples().cache().budget() == fit);
  CHECK(log.str() == "decoded-image cache: 2048 MiB asked, " + std::to_string(fit >> 20) +
                         " MiB fit in --memory_budget_mb 64 (the rest holds the batches and decodes in flight)\n");
  auto& pipeline = source.pipeline();
  CHECK(pipeline.concurrent_decodes() == 2);
  CHECK(pipeline.planned_bytes() == 64 * mib);
  for (std::uint64_t epoch = 0; epoch < 2; ++epoch) {  // the second epoch from the cache
    source.start_epoch(epoch, 0);
    finishes_within(hang_bound, "an epoch of a source with a shrunk cache", [&] {
      while (source.next()) {
      }
    });
  }
  CHECK(source.samples().cache().size() == 6);
  CHECK(source.samples().timings().snapshot().cache_hits == 6);
  CHECK(pipeline.stats().peak_accounted_bytes <= 64 * mib);

  SECTION("a cache that fits is kept as asked, silently") {
    auto small = s;
    small.cache_bytes = 16 * mib;
    std::ostringstream quiet;
    small.log = &quiet;
    data::sample_pipeline<augmentations> kept(d.train, l, input, augmentations{}, small);
    CHECK(kept.samples().cache().budget() == 16 * mib);
    CHECK(quiet.str().empty());
  }
  SECTION("a budget below the batches and one decode is refused, naming the flags") {
    auto tiny = s;
    tiny.memory_budget_bytes = 1 * mib;  // one decode alone reserves 1 MiB of decoder state
    REQUIRE_THROWS_WITH(data::sample_pipeline<augmentations>(d.train, l, input, augmentations{}, tiny),
                        Catch::StartsWith("--memory_budget_mb 1 is too small") && Catch::Contains("--batch_size"));
  }
}

TEST_CASE("pipeline: a source counts the samples it skipped at the end of each pass") {
  small_dataset d(6);
  const int l = static_cast<int>(d.landmarks.size());
  const auto gone = d.train.images[2].image_path;
  fs::remove(gone);
  pipeline_settings s;
  s.batch_size = 2;
  s.num_workers = 2;
  s.memory_budget_bytes = std::size_t{64} << 20;
  s.skip_bad_samples = true;
  std::ostringstream log;
  s.log = &log;
  data::sample_pipeline<augmentations> source(d.train, l, {64, 64}, augmentations{}, s);
  for (std::uint64_t epoch = 0; epoch < 2; ++epoch) {
    source.start_epoch(epoch, 0);
    finishes_within(hang_bound, "an epoch with a missing image", [&] {
      while (source.next()) {
      }
    });
  }
  const std::string warning = "warning: skipped bad sample: " + gone.string();
  CHECK_THAT(log.str(), Catch::Contains(warning));
  CHECK_THAT(log.str(), Catch::Contains("warning: 1 of 6 samples skipped as unreadable in this pass (1 in all"));
  CHECK_THAT(log.str(), Catch::Contains("warning: 1 of 6 samples skipped as unreadable in this pass (2 in all"));
}

TEST_CASE("pipeline: the worker count never exceeds what the window can use") {
  fake_producer producer;
  auto o = fake_options(16, 2, 1);  // at most 2 samples can be in flight
  data::batch_pipeline pipeline(10, producer.landmarks, o, producer);
  CHECK(pipeline.worker_count() == 2);
}


TEST_CASE("pipeline: a cache hit skips the decode and gives the same pixels") {
  small_dataset d(6);
  const int l = static_cast<int>(d.landmarks.size());
  const auto o = options_for(2, 2);
  data::aariz_samples<augmentations> samples(d.train, o.input, augmentations{}, true, o.seed, std::size_t{32} << 20);
  data::batch_pipeline pipeline(d.train.images.size(), l, o, samples);
  pipeline.start_epoch(0);
  while (pipeline.next()) {
  }
  CHECK(samples.timings().snapshot().decodes == 6);
  CHECK(samples.timings().snapshot().cache_hits == 0);
  CHECK(samples.cache().size() == 6);
  pipeline.start_epoch(1);
  while (pipeline.next()) {
  }
  CHECK(samples.timings().snapshot().decodes == 6);
  CHECK(samples.timings().snapshot().cache_hits == 6);

  SECTION("a cache too small for everything keeps what fits and decodes the rest") {
    data::aariz_samples<augmentations> small(d.train, o.input, augmentations{}, true, o.seed, 1);  // 1 byte
    data::batch_pipeline p(d.train.images.size(), l, o, small);
    for (int e = 0; e < 2; ++e) {
      p.start_epoch(static_cast<std::uint64_t>(e));
      while (p.next()) {
      }
    }
    CHECK(small.cache().size() == 0);
    CHECK(small.timings().snapshot().decodes == 12);
  }
}

// --num_workers auto times real trials, so which count wins depends on the
// machine. What is checked is what does not: the candidates and their order,
// that the choice follows the documented rule from the trials it reports, when
// the search stops, and that trials never reuse a sample when a cache is on.
// (How much workers help is measured by `bench data`, not asserted here.)
TEST_CASE("pipeline: --num_workers auto picks by its rule from the trials it measured") {
  fake_producer producer;
  producer.delay = 2ms;
  const auto o = fake_options(1, 2, 2);
  std::ostringstream log;
  const data::worker_search search{.max_workers = 4, .seconds_per_trial = 0.05, .tolerance = 0.05, .log = &log};
  const auto choice = finishes_within(hang_bound, "--num_workers auto", [&] {
    return data::measure_worker_counts(100000, producer.landmarks, o, producer, search);
  });
  REQUIRE(choice.trials.size() >= 3);  // 1, 2, 3 at least: stopping needs two counts in a row without a gain
  REQUIRE(choice.trials.size() <= 4);
  double best = 0;
  int worse_in_a_row = 0;
  std::size_t expected_trials = 0;
  for (std::size_t i = 0; i < choice.trials.size(); ++i) {
    const auto& t = choice.trials[i];
    INFO("trial " << i << ": " << t.workers << " workers, " << t.images << " images in " << t.seconds << " s");
    CHECK(t.workers == static_cast<int>(i) + 1);  // candidates 1, 2, 3, 4 in order
    CHECK(t.images > 0);
    CHECK(t.seconds >= search.seconds_per_trial);
    CHECK(t.images_per_s == Approx(static_cast<double>(t.images) / t.seconds));
    CHECK_THAT(log.str(), Catch::Contains(" " + std::to_string(t.workers) + " -> "));
    if (expected_trials == 0) {
      worse_in_a_row = t.images_per_s > best * (1 + search.tolerance) ? 0 : worse_in_a_row + 1;
      best = std::max(best, t.images_per_s);
      if (worse_in_a_row >= 2 || i + 1 == 4) expected_trials = i + 1;
    }
  }
  CHECK(choice.trials.size() == expected_trials);
  int expected = 0;  // the smallest count within the tolerance of the best
  for (const auto& t : choice.trials)
    if (expected == 0 && t.images_per_s >= best * (1 - search.tolerance)) expected = t.workers;
  CHECK(choice.workers == expected);
  CHECK_THAT(log.str(), Catch::StartsWith("num_workers auto:") && Catch::Contains("chose " + std::to_string(expected)));

  SECTION("counts that are all as good: the smallest, after three trials") {
    auto lenient = search;
    lenient.tolerance = 10;  // 4 workers cannot be 11 times faster than 1 on this producer
    lenient.log = nullptr;
    const auto flat = finishes_within(hang_bound, "--num_workers auto", [&] {
      return data::measure_worker_counts(100000, producer.landmarks, o, producer, lenient);
    });
    REQUIRE(flat.trials.size() == 3);
    CHECK(flat.workers == 1);
  }
  SECTION("one candidate: one worker") {
    CHECK(data::choose_num_workers(100000, producer.landmarks, o, producer, {.max_workers = 1, .seconds_per_trial = 0.01}) == 1);
  }
}

TEST_CASE("pipeline: --num_workers auto never reuses a sample when a cache could serve it") {
  fake_producer producer;
  producer.resident = 1 << 20;  // a cache: samples seen again would be faster
  std::mutex mutex;
  std::multiset<std::size_t> produced;
  producer.on_produce = [&](std::size_t index) {
    std::lock_guard lock(mutex);
    produced.insert(index);
  };
  const auto choice = finishes_within(hang_bound, "--num_workers auto", [&] {
    // Trials far longer than the data: the first one reads everything.
    return data::measure_worker_counts(12, producer.landmarks, fake_options(1, 2, 2), producer,
                                       {.max_workers = 4, .seconds_per_trial = 1000});
  });
  REQUIRE(choice.trials.size() == 1);
  CHECK(choice.trials[0].images == 10);  // the first batch (2) is not timed
  CHECK(choice.note == "dataset exhausted");
  CHECK(choice.workers == 1);
  CHECK(produced.size() == 12);
  for (std::size_t i = 0; i < 12; ++i) CHECK(produced.count(i) == 1);
}
