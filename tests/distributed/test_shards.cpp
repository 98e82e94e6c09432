// Each rank reads its own shard of the epoch's order (data/batch_pipeline.hpp):
// checked on the real pipeline with a producer that records what it is asked.
#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include <catch2/catch.hpp>

#include <mixtrain/data/batch_pipeline.hpp>

namespace md = mixtrain::data;

namespace test_shards {
namespace {

struct recording_producer : md::sample_producer {
  void produce(const md::sample_request& request, const md::sample_slot& slot) override {
    std::lock_guard lock(mutex);
    seen.push_back(request.dataset_index);
    slot.landmarks[0] = slot.landmarks[1] = 0;
    slot.present[0] = 1;
  }
  [[nodiscard]] std::size_t transient_bytes_per_sample() const override { return 64; }
  std::mutex mutex;
  std::vector<std::size_t> seen;
};

md::pipeline_options options(int batch, int shard, int shards, bool training) {
  md::pipeline_options o;
  o.input = {8, 8};
  o.batch_size = batch;
  o.num_workers = 1;
  o.seed = 4;
  o.shuffle = training;
  o.shard = shard;
  o.shards = shards;
  return o;
}

// The dataset indices of each batch of one epoch, in order.
std::vector<std::vector<std::size_t>> epoch_batches(std::size_t n, md::pipeline_options o, std::uint64_t epoch) {
  recording_producer producer;
  md::batch_pipeline pipeline(n, 1, o, producer);
  pipeline.start_epoch(epoch);
  std::vector<std::vector<std::size_t>> out;
  while (auto b = pipeline.next()) out.push_back(b->dataset_indices);
  pipeline.stop();
  return out;
}

}  // namespace

TEST_CASE("shards cover every sample once per epoch and pad with the fewest repeats", "[distributed]") {
  for (const std::size_t n : {8u, 7u, 5u, 14u}) {
    for (const int shards : {1, 2, 3}) {
      for (const std::uint64_t epoch : {0u, 1u}) {
        INFO("samples " << n << ", shards " << shards << ", epoch " << epoch);
        std::map<std::size_t, int> count;
        std::size_t per_shard = 0;
        for (int s = 0; s < shards; ++s) {
          std::size_t here = 0;
          for (const auto& b : epoch_batches(n, options(2, s, shards, true), epoch))
            for (const auto i : b) ++count[i], ++here;
          if (s == 0) per_shard = here;
          CHECK(here == per_shard);  // as many samples, so as many batches, on every rank
        }
        CHECK(count.size() == n);  // every sample at least once
        const auto padded = per_shard * static_cast<std::size_t>(shards);
        CHECK(padded - n < static_cast<std::size_t>(shards));
        int repeats = 0;
        for (const auto& [index, c] : count) {
          CHECK(c <= 2);
          repeats += c - 1;
        }
        CHECK(static_cast<std::size_t>(repeats) == padded - n);
      }
    }
  }
}

TEST_CASE("batch k of all shards holds the samples of batch k of one process with the whole global batch",
          "[distributed]") {
  const std::size_t n = 14;
  for (const std::uint64_t epoch : {0u, 3u}) {
    const auto single = epoch_batches(n, options(4, 0, 1, true), epoch);
    const auto shard0 = epoch_batches(n, options(2, 0, 2, true), epoch);
    const auto shard1 = epoch_batches(n, options(2, 1, 2, true), epoch);
    REQUIRE(shard0.size() == single.size());
    REQUIRE(shard1.size() == single.size());
    for (std::size_t k = 0; k < single.size(); ++k) {
      std::multiset<std::size_t> together(shard0[k].begin(), shard0[k].end());
      together.insert(shard1[k].begin(), shard1[k].end());
      CHECK(together == std::multiset<std::size_t>(single[k].begin(), single[k].end()));
    }
  }
}

TEST_CASE("a shard outside the shard count is refused", "[distributed]") {
  recording_producer producer;
  CHECK_THROWS_WITH(md::batch_pipeline(4, 1, options(2, 2, 2, true), producer), Catch::Contains("shard 2 of 2"));
}

}  // namespace test_shards
