// Recipe composition, the trainer's tensor conversion, and checkpoints.
#include <catch2/catch.hpp>

#include <fstream>

#include <mixtrain/core/trainer.hpp>
#include <mixtrain/data/aariz.hpp>
#include <mixtrain/heatmap/decode.hpp>
#include <mixtrain/io/checkpoint.hpp>
#include <mixtrain/model/compact_unet.hpp>
#include <mixtrain/optim/adamw.hpp>
#include <mixtrain/task/landmark_heatmaps.hpp>

#include "../support/temporary_directory.hpp"

namespace mt = mixtrain;
using mixtrain::testing::temporary_directory;

namespace test_core {
namespace {
using tiny_recipe = mt::recipe<mt::model::compact_unet<{.width = 8}>, mt::data::aariz<{.image_size = {64, 64}}>,
                               mt::task::landmark_heatmaps<{.sigma = 1.5}>, mt::optim::adamw<{.lr = 1e-3}>,
                               mt::fit<{.epochs = 3, .batch_size = 2}>>;

mt::data::landmark_set symbols(int n) {
  mt::data::landmark_set set;
  // append, not "P" + string: GCC 12 warns falsely (-Wstringop-overflow) once inlined
  for (int i = 0; i < n; ++i) set.symbols.push_back(std::string("P").append(std::to_string(i)));
  set.titles = set.symbols;
  return set;
}
}  // namespace

TEST_CASE("a recipe takes its task's decoder and its run defaults from the flat list, with defaults when absent") {
  STATIC_REQUIRE(std::is_same_v<tiny_recipe::task::decoder, mt::heatmap::dark>);
  STATIC_REQUIRE(tiny_recipe::fit_defaults.epochs == 3);
  STATIC_REQUIRE(tiny_recipe::fit_defaults.batch_size == 2);
  using with_argmax = mt::recipe<mt::model::compact_unet<>, mt::data::aariz<>,
                                 mt::task::landmark_heatmaps<{}, mt::loss::heatmap_mse, mt::heatmap::argmax>, mt::optim::sgd<>>;
  STATIC_REQUIRE(std::is_same_v<with_argmax::task::decoder, mt::heatmap::argmax>);
  STATIC_REQUIRE(with_argmax::fit_defaults.epochs == mt::fit_config{}.epochs);
  // No recipe policies: only the default console and CSV logging and progress.
  STATIC_REQUIRE(mt::trainer<tiny_recipe>::policy_count == 3);
}

TEST_CASE("the trainer sizes the model head from the landmark set and describes itself") {
  mt::trainer<tiny_recipe> t;
  t.build(symbols(5));
  const auto d = t.describe();
  CHECK(d["task"]["num_landmarks"] == 5);
  CHECK(d["model"] == "compact_unet");
  CHECK(d["task"]["decoder"] == "dark");
  CHECK(d["data"]["image_size"][0] == 64);
  CHECK(d["policies"].size() == 3);
  CHECK(d["policies"][0]["name"] == "console_log");
  const auto out = t.model()->forward(torch::zeros({1, 1, 64, 64}));
  CHECK(out.sizes() == torch::IntArrayRef({1, 5, 16, 16}));
  mt::trainer<tiny_recipe> seven;
  seven.build(symbols(7));
  // The 1x1 head grows by (width + 1) parameters per landmark.
  CHECK(seven.parameter_count() - t.parameter_count() == 2 * (8 + 1));
}

TEST_CASE("uint8 batches become normalised inputs and Gaussian targets centred on the landmarks") {
  mt::trainer<tiny_recipe> t;
  t.build(symbols(2));
  mt::data::batch b;
  b.size = 1;
  b.height = b.width = 64;
  b.num_landmarks = 2;
  b.pixels.assign(64 * 64, 255);
  b.pixels[0] = 0;
  // Input pixel 21.5 lies at heatmap (21.5 + 0.5) / 4 - 0.5 = 5.0.
  b.landmarks = {21.5f, 37.5f, 1.5f, 61.5f};
  b.present = {1.0f, 0.0f};
  const auto device_batch = t.to_device(b);
  CHECK(device_batch.input[0][0][0][1].item<float>() == Approx((1.0 - 0.5) / 0.25));
  CHECK(device_batch.input[0][0][0][0].item<float>() == Approx((0.0 - 0.5) / 0.25));
  REQUIRE(device_batch.target.sizes() == torch::IntArrayRef({1, 2, 16, 16}));
  const auto peak = device_batch.target[0][0].argmax().item<int64_t>();
  CHECK(peak / 16 == 9);  // y = (37.5 + 0.5) / 4 - 0.5 = 9
  CHECK(peak % 16 == 5);
  CHECK(device_batch.target[0][0][9][5].item<float>() == Approx(1.0));
  CHECK(device_batch.target[0][0][9][6].item<float>() == Approx(std::exp(-1.0 / (2 * 1.5 * 1.5))));
  CHECK(device_batch.weight[0][1].item<float>() == 0.0f);
}

TEST_CASE("a checkpoint restores the weights and refuses a recipe whose contract differs") {
  temporary_directory dir;
  const auto file = dir.path() / "model.pt";
  mt::trainer<tiny_recipe> a;
  a.build(symbols(3));
  a.save_checkpoint(file);
  REQUIRE(std::filesystem::exists(file));
  REQUIRE_FALSE(std::filesystem::exists(file.string() + ".partial"));

  torch::manual_seed(99);
  mt::trainer<tiny_recipe> b;
  b.build(symbols(3));
  b.load_checkpoint(file, mt::trainer<tiny_recipe>::restore::everything);
  const auto pa = a.model()->parameters(), pb = b.model()->parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) CHECK(torch::equal(pa[i], pb[i]));

  mt::trainer<tiny_recipe> other_symbols;
  other_symbols.build(symbols(4));
  REQUIRE_THROWS_WITH(other_symbols.load_checkpoint(file, mt::trainer<tiny_recipe>::restore::weights_only),
                      Catch::Contains("model.pt") && Catch::Contains("symbols"));
  mt::trainer<tiny_recipe> other_size;
  other_size.data.config.image_size = {96, 96};
  other_size.build(symbols(3));
  REQUIRE_THROWS_WITH(other_size.load_checkpoint(file, mt::trainer<tiny_recipe>::restore::weights_only),
                      Catch::Contains("input_size"));
}

TEST_CASE("an atomic write that fails leaves the previous file intact") {
  temporary_directory dir;
  const auto file = dir.path() / "last.pt";
  std::ofstream(file) << "old";
  REQUIRE_THROWS(mt::io::write_atomically(file, [](const std::filesystem::path& tmp) {
    std::ofstream(tmp) << "half written";
    throw std::runtime_error("disk full");
  }));
  std::ifstream in(file);
  std::string content;
  in >> content;
  CHECK(content == "old");
  CHECK_FALSE(std::filesystem::exists(file.string() + ".partial"));
}

}  // namespace test_core
