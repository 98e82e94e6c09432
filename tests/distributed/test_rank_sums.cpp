// What a sharded validation adds over the ranks, with the ranks simulated in
// one process: `sum` adds the other rank's tensor, as an all-reduce would.
#include <cstdint>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <mixtrain/core/buffer_average.hpp>
#include <mixtrain/task/image_classes.hpp>

namespace mt = mixtrain;

namespace test_rank_sums {
namespace {

// The state rank `other` would contribute, captured by running its own
// sum_over_ranks with a function that only copies.
template <class Evaluator>
torch::Tensor contribution(Evaluator& other) {
  torch::Tensor copy;
  other.sum_over_ranks([&](torch::Tensor& t) { copy = t.clone(); });
  return copy;
}

}  // namespace

TEST_CASE("two ranks' class tallies summed over the ranks score like one tally over every image") {
  // Five images, three classes; image 2 seen on both ranks (shard padding), image 3 unlabelled.
  const auto logits = torch::tensor({2.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 3.0, 0.0, 5.0, 0.0, 0.0, 0.0, 0.0, 1.0})
                          .reshape({5, 3});
  const std::vector<std::int64_t> labels{0, 1, 2, -1, 2};
  mt::task::class_tally whole({"a", "b", "c"}, 5);
  whole.add(logits, labels, {0, 1, 2, 3, 4});

  mt::task::class_tally rank0({"a", "b", "c"}, 5), rank1({"a", "b", "c"}, 5);
  rank0.add(logits.index({torch::tensor({0, 2, 4}, torch::kLong)}), {0, 2, 2}, {0, 2, 4});
  rank1.add(logits.index({torch::tensor({1, 3, 2}, torch::kLong)}), {1, -1, 2}, {1, 3, 2});
  const auto from_rank1 = contribution(rank1);
  rank0.sum_over_ranks([&](torch::Tensor& t) { t += from_rank1; });

  const auto expected = whole.finish(0.4);
  const auto merged = rank0.finish(0.4);
  CHECK(merged.labelled == 4);
  CHECK(merged.confusion == expected.confusion);
  CHECK(merged.predicted == expected.predicted);
  CHECK(merged.metrics.val_accuracy == expected.metrics.val_accuracy);
  CHECK(merged.metrics.val_cross_entropy == Approx(expected.metrics.val_cross_entropy).epsilon(1e-12));
  for (std::size_t i = 0; i < 5; ++i) CHECK(merged.probability[i] == Approx(expected.probability[i]).epsilon(1e-12));
}

TEST_CASE("BatchNorm running statistics become the mean over the ranks and batch counts stay") {
  torch::nn::BatchNorm2d here(3), there(3);
  here->running_mean.copy_(torch::tensor({1.0, 2.0, 3.0}));
  here->running_var.copy_(torch::tensor({1.0, 1.0, 4.0}));
  there->running_mean.copy_(torch::tensor({3.0, 4.0, 5.0}));
  there->running_var.copy_(torch::tensor({3.0, 2.0, 2.0}));
  here->num_batches_tracked.fill_(7);

  torch::Tensor from_there;
  mt::average_floating_buffers(*there, 1, [&](torch::Tensor& t) { from_there = t.clone(); });
  mt::average_floating_buffers(*here, 2, [&](torch::Tensor& t) { t += from_there; });

  CHECK(torch::equal(here->running_mean, torch::tensor({2.0f, 3.0f, 4.0f})));
  CHECK(torch::equal(here->running_var, torch::tensor({2.0f, 1.5f, 3.0f})));
  CHECK(here->num_batches_tracked.item<std::int64_t>() == 7);
  CHECK(here->running_mean.scalar_type() == torch::kFloat32);
}

}  // namespace test_rank_sums
