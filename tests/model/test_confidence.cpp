// Per-landmark confidence: the peak of each landmark's raw output map, carried
// through the evaluator (and averaged over an image's views).
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include "mixtrain/task/landmark_heatmaps.hpp"

namespace mt = mixtrain;

namespace test_confidence {
namespace {

// Two 8x8 images, 2 landmarks; input = original (identity transform, stride 1).
struct fixture {
  mt::data::split set{"test", {}};
  mt::task::landmark_heatmaps<{.sigma = 1.0}, mt::loss::heatmap_mse, mt::heatmap::argmax> task;

  fixture() {
    for (int i = 0; i < 2; ++i) {
      mt::data::annotated_image image;
      image.id = std::to_string(i);
      image.width = image.height = 8;
      image.landmarks = {{1, 1}, {2, 2}};
      image.present = {1, 1};
      set.images.push_back(image);
    }
    task.setup({{"A", "B"}, {"A", "B"}}, {.name = "test", .output_stride = 1});
  }

  // A batch of the given images (in this order), each with the identity transform.
  static mt::data::batch batch_of(std::vector<std::size_t> indices) {
    mt::data::batch b;
    b.size = static_cast<int>(indices.size());
    b.height = b.width = 8;
    b.num_landmarks = 2;
    b.dataset_indices = std::move(indices);
    b.input_from_original.assign(b.dataset_indices.size(), mt::data::affine(1, 0, 0, 0, 1, 0));
    return b;
  }
};

}  // namespace

TEST_CASE("confidence is the raw peak of each landmark map", "[confidence]") {
  auto maps = torch::zeros({2, 3, 4, 5});
  maps[0][0][1][2] = 0.93F;
  maps[0][1][3][4] = 0.25F;
  maps[0][1][0][0] = 0.20F;  // a lower second peak does not count
  maps[0][2].fill_(-0.1F);   // nothing found: the peak may be at or below 0
  maps[1][0][0][0] = 1.40F;  // an overshoot stays an overshoot (not clamped, not a probability)
  maps[1][1][2][2] = 0.5F;
  maps[1][2][2][3] = 0.0F;
  const auto c = decltype(fixture::task)::confidences(maps);
  REQUIRE(c.size() == 2);
  REQUIRE(c[0].size() == 3);
  CHECK(c[0][0] == Approx(0.93F));
  CHECK(c[0][1] == Approx(0.25F));
  CHECK(c[0][2] == Approx(-0.1F));
  CHECK(c[1][0] == Approx(1.40F));
  CHECK(c[1][1] == Approx(0.5F));
  CHECK(c[1][2] == 0.0F);
}

TEST_CASE("confidence of a rendered Gaussian target is one at a pixel-centred peak", "[confidence]") {
  const auto centres = torch::tensor({{{3.0F, 4.0F}, {3.5F, 4.0F}}});
  const auto maps = mt::heatmap::render_gaussian(centres, 8, 8, 1.0);
  const auto c = decltype(fixture::task)::confidences(maps);
  CHECK(c[0][0] == Approx(1.0F));
  CHECK(c[0][1] == Approx(std::exp(-0.25 / 2.0)));  // half a pixel off: the best pixel is 0.5 px from the centre
}

TEST_CASE("the evaluator reports confidences per image and landmark, averaged over repeated views",
          "[confidence]") {
  fixture f;
  auto evaluator = f.task.evaluator(f.set);
  // Image 1 comes twice (two views), image 0 once.
  auto first = torch::zeros({2, 2, 8, 8});
  first[0][0][1][1] = 0.9F;  // image 1, view 1
  first[0][1][2][2] = 0.6F;
  first[1][0][1][1] = 0.8F;  // image 0
  first[1][1][2][2] = 0.4F;
  evaluator.add(fixture::batch_of({1, 0}), first);
  auto second = torch::zeros({1, 2, 8, 8});
  second[0][0][1][1] = 0.7F;  // image 1, view 2
  second[0][1][2][2] = 1.0F;
  evaluator.add(fixture::batch_of({1}), second);
  const auto result = evaluator.finish();
  REQUIRE(result.confidences.size() == 2);
  CHECK(result.confidences[0][0] == Approx(0.8F));
  CHECK(result.confidences[0][1] == Approx(0.4F));
  CHECK(result.confidences[1][0] == Approx(0.8F));  // (0.9 + 0.7) / 2
  CHECK(result.confidences[1][1] == Approx(0.8F));  // (0.6 + 1.0) / 2
  // The peaks sit on the truth: both images score 0 error, each counted once.
  CHECK(result.metrics.val_mre == Approx(0.0).margin(1e-9));
  CHECK(result.errors.overall().count == 4);
  CHECK(result.predictions[1][1].x == Approx(2.0));
}

}  // namespace test_confidence
