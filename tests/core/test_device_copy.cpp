// core/device_copy.hpp on the CPU: to_device_async must leave the CPU path
// exactly as the tasks' blocking .to(device) was (no pinning, which throws
// without CUDA in LibTorch 1.13, and no copy), and the tasks' device batches
// must hold the same values as before. The CUDA path (pinned source,
// non-blocking copy) is tested in tests/gpu/test_gpu.cpp.
// LibTorch first: glog (Debian's LibTorch) defines a CHECK of its own that
// Catch's must replace, not the other way round.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include <mixtrain/core/device_copy.hpp>
#include <mixtrain/task/image_classes.hpp>
#include <mixtrain/task/landmark_heatmaps.hpp>

namespace mt = mixtrain;

namespace test_device_copy {
namespace {

mt::data::batch two_images() {
  mt::data::batch b;
  b.size = 2;
  b.height = b.width = 32;
  b.num_landmarks = 2;
  b.pixels.resize(2 * 32 * 32);
  for (std::size_t i = 0; i < b.pixels.size(); ++i) b.pixels[i] = static_cast<std::uint8_t>(i % 251);
  b.landmarks = {4, 5, 20, 21, 10, 11, 30, 2};
  b.present = {1, 1, 1, 0};
  b.image_labels = {3, -1};
  b.dataset_indices = {0, 1};
  b.input_from_original.assign(2, mt::data::affine(1, 0, 0, 0, 1, 0));
  return b;
}

}  // namespace

TEST_CASE("to_device_async on the CPU returns the host tensor itself, unpinned, as .to(cpu) does", "[device_copy]") {
  std::vector<float> values{1, 2, 3, 4, 5, 6};
  const auto host = torch::from_blob(values.data(), {2, 3}, torch::kFloat32);
  torch::Tensor staged;
  const auto moved = mt::to_device_async(host, torch::kCPU, &staged);
  CHECK(moved.data_ptr() == host.data_ptr());  // no copy, as before
  CHECK(moved.data_ptr() == host.to(torch::kCPU).data_ptr());
  CHECK(staged.data_ptr() == host.data_ptr());  // the source is the host tensor: nothing was pinned
  CHECK_FALSE(staged.is_pinned());
  CHECK(torch::equal(moved, torch::tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}).reshape({2, 3})));
}

TEST_CASE("to_device_async keeps a tensor already off the host where it is and converts nothing", "[device_copy]") {
  const auto t = torch::arange(12, torch::kInt64).reshape({3, 4});
  const auto moved = mt::to_device_async(t, torch::Device(torch::kCPU));
  CHECK(moved.scalar_type() == torch::kInt64);
  CHECK(moved.sizes() == t.sizes());
  CHECK(torch::equal(moved, t));
}

TEST_CASE("the heatmap task's device batch on the CPU holds the normalised pixels, the presence and the targets", "[device_copy]") {
  mt::task::landmark_heatmaps<{.sigma = 1.5}> task;
  task.setup(mt::data::landmark_set{{"A", "B"}, {"A", "B"}}, mt::model_facts{"m", 4, 1, false});
  const auto b = two_images();
  const auto db = task.to_device(b, torch::kCPU);
  // What the blocking .to(device) gave: the formula on the batch's bytes.
  const auto pixels = torch::from_blob(const_cast<std::uint8_t*>(b.pixels.data()), {2, 1, 32, 32}, torch::kUInt8);
  const auto expected_input =
      (pixels.to(torch::kFloat32) / 255.0 - task.config.mean) / task.config.std_dev;
  CHECK((db.input.sizes() == torch::IntArrayRef{2, 1, 32, 32}));
  CHECK(torch::allclose(db.input, expected_input, 1e-5, 1e-6));
  CHECK(torch::equal(db.weight, torch::tensor({1.f, 1.f, 1.f, 0.f}).reshape({2, 2})));
  // Landmark 0 of image 0 at input (4, 5): its heatmap peak at ((4 + 0.5) / 4 - 0.5, (5 + 0.5) / 4 - 0.5) ~ (1, 1).
  CHECK((db.target.sizes() == torch::IntArrayRef{2, 2, 8, 8}));
  const auto peak = db.target[0][0].argmax().item<std::int64_t>();
  CHECK(peak / 8 == 1);
  CHECK(peak % 8 == 1);
  CHECK(torch::equal(task.input(b, torch::kCPU), db.input));
}

TEST_CASE("the class task's labels on the CPU are the batch's labels as int64, -1 kept", "[device_copy]") {
  mt::task::image_classes<mt::task::cvm_stages> task;
  const auto b = two_images();
  const auto labels = task.labels_on(b, torch::kCPU);
  CHECK(labels.scalar_type() == torch::kInt64);
  CHECK(labels.size(0) == 2);
  CHECK(labels[1].item<std::int64_t>() == -1);
  CHECK(labels[0].item<std::int64_t>() == mt::task::cvm_stages::label(b, 0));
}

}  // namespace test_device_copy
