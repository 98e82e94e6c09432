// The data pipeline under faults: a bad image, an exception in a worker,
// stopping or restarting mid-epoch. Each runs under a watchdog, so a deadlock
// fails the test instead of hanging it. (test_pipeline.cpp: the mechanics.)
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <mixtrain/core/data_source.hpp>
#include <mixtrain/data/landmark_images.hpp>

#include "../support/watchdog.hpp"
#include "pipeline_support.hpp"

namespace fs = std::filesystem;
using namespace mixtrain;
using namespace mixtrain::testing::pipeline;
using namespace std::chrono_literals;
using mixtrain::testing::event_counter;
using mixtrain::testing::finishes_within;
using mixtrain::testing::gate;
using mixtrain::testing::hang_bound;

TEST_CASE("pipeline: a bad image is an error naming the file, and --skip_bad_samples counts it") {
  small_dataset d(6);
  const int l = static_cast<int>(d.landmarks.size());
  // One image truncated, one removed after the split was read.
  const auto& cut = d.train.images[1].image_path;
  {
    const auto size = fs::file_size(cut);
    fs::resize_file(cut, size / 2);
  }
  const auto gone = d.train.images[4].image_path;
  fs::remove(gone);
  auto o = options_for(2, 2);
  o.shuffle = false;

  SECTION("stops with the file's name") {
    data::aariz_samples<augmentations> samples(d.train, o.input, augmentations{}, true, 0, 0);
    data::batch_pipeline pipeline(d.train.images.size(), l, o, samples);
    pipeline.start_epoch(0);
    REQUIRE_THROWS_WITH(
        [&] {
          while (pipeline.next()) {
          }
        }(),
        Catch::Contains(cut.string()) && Catch::Contains("truncated"));
    // The failure sticks: later calls fail the same way instead of hanging.
    REQUIRE_THROWS_AS(pipeline.start_epoch(1), data::data_error);
  }
  SECTION("skips and counts") {
    o.skip_bad_samples = true;
    data::aariz_samples<augmentations> samples(d.train, o.input, augmentations{}, true, 0, 0);
    data::batch_pipeline pipeline(d.train.images.size(), l, o, samples);
    pipeline.start_epoch(0);
    std::vector<std::string> messages;
    int images = 0;
    while (auto b = pipeline.next()) {
      images += b->size;
      messages.insert(messages.end(), b->skipped.begin(), b->skipped.end());
      for (int i = 0; i < b->size; ++i) {
        const auto index = b->dataset_indices[static_cast<std::size_t>(i)];
        if (index == 1 || index == 4)
          for (int k = 0; k < l; ++k) CHECK(b->present[static_cast<std::size_t>(i * l + k)] == 0.0f);
      }
    }
    CHECK(images == 6);
    CHECK(pipeline.stats().skipped == 2);
    REQUIRE(messages.size() == 2);
    CHECK_THAT(messages[0], Catch::Contains(cut.string()));
    CHECK_THAT(messages[1], Catch::Contains(gone.string()) && Catch::Contains("cannot open"));
  }
}

TEST_CASE("pipeline: an exception in a worker reaches next() and nothing deadlocks") {
  fake_producer producer;
  producer.delay = 1ms;
  producer.throw_runtime = {7};
  auto o = fake_options(4);
  o.skip_bad_samples = true;  // only data errors are skippable
  auto pipeline = std::make_unique<data::batch_pipeline>(20, producer.landmarks, o, producer);
  pipeline->start_epoch(0);
  auto drain = [&] {
    try {
      while (pipeline->next()) {
      }
      return std::string("no error");
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
  };
  const std::string named = "data worker failed on sample 7: worker failure on purpose";
  CHECK(finishes_within(hang_bound, "draining a pipeline whose worker threw", drain) == named);
  // The failure sticks: the next call reports it again instead of waiting.
  CHECK(finishes_within(hang_bound, "next() after the failure", drain) == named);
  finishes_within(hang_bound, "destroying the failed pipeline", [&] { pipeline.reset(); });
  CHECK(producer.current.load() == 0);

  SECTION("an exception of any type arrives as a named std::exception") {
    fake_producer odd;
    odd.throw_other = {5};
    data::batch_pipeline p(10, odd.landmarks, o, odd);
    p.start_epoch(0);
    const auto message = finishes_within(hang_bound, "draining a pipeline whose worker threw an int", [&] {
      try {
        while (p.next()) {
        }
        return std::string("no error");
      } catch (const std::exception& e) {
        return std::string(e.what());
      }
    });
    CHECK(message == "data worker failed on sample 5: an exception that is not a std::exception");
  }
  SECTION("data errors are skipped and counted instead") {
    fake_producer skipping;
    skipping.throw_data = {3, 4};
    data::batch_pipeline p(10, skipping.landmarks, o, skipping);
    p.start_epoch(0);
    const int batches = finishes_within(hang_bound, "an epoch with skipped samples", [&] {
      int n = 0;
      while (auto b = p.next()) ++n;
      return n;
    });
    CHECK(batches == 5);
    CHECK(p.stats().skipped == 2);
  }
}

// Workers are held inside produce() by a gate, so "busy" is a fact, not a
// sleep: samples 0 and 1 (batch 0) pass, every later sample waits at the gate.
// Two workers and a window of 4 batches: when they are stopped, the window
// still has room, so a worker that kept going would start more samples.
TEST_CASE("pipeline: stopping mid-epoch starts no new sample and joins every worker") {
  fake_producer producer;
  gate release;
  event_counter held;
  producer.on_produce = [&](std::size_t index) {
    if (index < 2) return;
    held.add();
    release.wait("a worker held in produce() by the test");
  };
  const auto o = fake_options(2, 2, 4);
  auto pipeline = std::make_unique<data::batch_pipeline>(1000, producer.landmarks, o, producer);
  REQUIRE(pipeline->worker_count() == 2);
  pipeline->start_epoch(0);
  REQUIRE(finishes_within(hang_bound, "the first batch", [&] { return pipeline->next().has_value(); }));
  held.wait_for_at_least(2, "both workers entering produce()");
  // Batch 0 is done and both workers hold a sample of batch 1: nothing else started.
  CHECK(producer.current.load() == 2);
  CHECK(producer.calls.load() == 4);

  SECTION("stop() wakes a waiting next(), and the held samples are the last ones started") {
    std::string consumer_saw;
    finishes_within(hang_bound, "stop() with workers inside produce()", [&] {
      std::thread consumer([&] {
        try {
          consumer_saw = pipeline->next() ? "a batch" : "end of epoch";
        } catch (const std::exception& e) {
          consumer_saw = e.what();
        }
        release.open();  // only now: stop() has asked the workers to finish
      });
      pipeline->stop();  // returns once the workers are joined
      consumer.join();
    });
    CHECK_THAT(consumer_saw, Catch::Contains("stopped"));
    CHECK(producer.current.load() == 0);
    CHECK(producer.calls.load() == 4);  // no sample started after the stop request
    finishes_within(hang_bound, "a second stop()", [&] { pipeline->stop(); });
    const auto after = finishes_within(hang_bound, "next() after stop()", [&] {
      try {
        return pipeline->next() ? std::string("a batch") : std::string("end of epoch");
      } catch (const std::exception& e) {
        return std::string(e.what());
      }
    });
    CHECK_THAT(after, Catch::Contains("stopped"));
  }
  SECTION("the destructor joins workers that are inside produce()") {
    std::thread opener([&] {
      std::this_thread::sleep_for(5ms);  // either order is correct; this makes "during" the likely one
      release.open();
    });
    finishes_within(hang_bound, "destroying a pipeline whose workers are inside produce()", [&] { pipeline.reset(); });
    opener.join();
    CHECK(producer.current.load() == 0);
    CHECK(producer.calls.load() <= 2 + 4 * 2);  // at most the window, whichever came first
  }
}

TEST_CASE("pipeline: a new epoch mid-epoch drops the old one and starts clean") {
  fake_producer producer;
  producer.delay = 1ms;
  data::batch_pipeline pipeline(30, producer.landmarks, fake_options(4, 2, 2), producer);
  pipeline.start_epoch(0);
  REQUIRE(pipeline.next());
  pipeline.start_epoch(1, 2);  // resume epoch 1 at batch 2
  auto b = pipeline.next();
  REQUIRE(b);
  CHECK(b->index == 2);
  CHECK(b->landmarks[1] == 1.0f);  // produced for epoch 1
  CHECK(b->dataset_indices == std::vector<std::size_t>{4, 5});
}
