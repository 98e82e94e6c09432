// A second task type through the unchanged loop: image classification on
// synthetic bars (horizontal = class 0, vertical = class 1), with its own
// data source, model and metrics. Nothing here is known to core/.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <mixtrain/core/trainer.hpp>
#include <mixtrain/optim/adamw.hpp>
#include <mixtrain/policy/checkpoint.hpp>
#include <mixtrain/policy/early_stopping.hpp>
#include <mixtrain/model/compact_unet.hpp>
#include <mixtrain/task/image_classes.hpp>
#include <mixtrain/task/landmarks_and_classes.hpp>

#include "../support/temporary_directory.hpp"

namespace mt = mixtrain;

namespace bars {

constexpr int side = 16;

struct image {
  std::vector<std::uint8_t> pixels;  // side x side
  std::int64_t label = 0;
};

struct batch {
  int size = 0;
  int height = side;
  int width = side;
  std::vector<std::uint8_t> pixels;
  std::vector<std::int64_t> labels;
  std::vector<std::size_t> dataset_indices;
};

struct image_set {
  std::vector<image> images;
};

// Batches in a per-epoch shuffled order, on the calling thread.
class pipeline {
 public:
  pipeline(const image_set& set, const mt::pipeline_settings& s) : set_(set.images), settings_(s) {}
  void start_epoch(std::uint64_t epoch, std::int64_t skip) {
    order_.resize(set_.size());
    for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = i;
    if (settings_.training) std::shuffle(order_.begin(), order_.end(), std::mt19937_64(settings_.seed * 1000 + epoch));
    next_ = static_cast<std::size_t>(skip) * static_cast<std::size_t>(settings_.batch_size);
  }
  std::optional<batch> next() {
    if (next_ >= order_.size()) return std::nullopt;
    batch b;
    for (; next_ < order_.size() && b.size < settings_.batch_size; ++next_, ++b.size) {
      const auto& item = set_[order_[next_]];
      b.pixels.insert(b.pixels.end(), item.pixels.begin(), item.pixels.end());
      b.labels.push_back(item.label);
      b.dataset_indices.push_back(order_[next_]);
    }
    return b;
  }
  [[nodiscard]] std::int64_t batches_per_epoch() const {
    return static_cast<std::int64_t>((set_.size() + settings_.batch_size - 1) / settings_.batch_size);
  }
  [[nodiscard]] double wait_seconds() const { return 0; }
  [[nodiscard]] int num_workers() const { return 1; }
  void stop() {}

 private:
  const std::vector<image>& set_;
  mt::pipeline_settings settings_;
  std::vector<std::size_t> order_;
  std::size_t next_ = 0;
};

struct data_source {
  static constexpr std::string_view name = "bars";
  using sample_set = image_set;
  using target_info = std::vector<std::string>;  // class names
  using batch_type = batch;
  using pipeline_type = pipeline;

  // A bar at a random position and thickness, on noise; the split seeds it.
  sample_set read_split(const std::filesystem::path&, const std::string& split, target_info& classes) const {
    classes = {"horizontal", "vertical"};
    std::mt19937_64 rng(std::hash<std::string>{}(split));
    std::uniform_int_distribution<int> noise(0, 60), where(2, side - 4), label(0, 1);
    sample_set set{std::vector<image>(split == "train" ? 64 : 32)};
    for (auto& item : set.images) {
      item.label = label(rng);
      item.pixels.resize(side * side);
      for (auto& p : item.pixels) p = static_cast<std::uint8_t>(noise(rng));
      const int at = where(rng);
      for (int t = 0; t < side; ++t)
        for (int w = 0; w < 2; ++w) item.pixels[item.label == 0 ? (at + w) * side + t : t * side + at + w] = 220;
    }
    return set;
  }
  std::unique_ptr<pipeline> make_pipeline(const sample_set& set, const mt::pipeline_settings& s) const {
    return std::make_unique<pipeline>(set, s);
  }
  [[nodiscard]] nlohmann::json describe() const { return {{"name", name}, {"side", side}}; }
  [[nodiscard]] nlohmann::json contract() const { return {{"input_size", {side, side}}}; }
};

// The classes are the data's names; a batch carries its labels.
struct bar_labels {
  static constexpr std::string_view name = "bar_orientation";
  static std::vector<std::string> classes(const std::vector<std::string>& names) { return names; }
  static std::int64_t label(const batch& b, int i) { return b.labels[static_cast<std::size_t>(i)]; }
  static std::int64_t label(const image& item) { return item.label; }
};

// The library's image-class task (the one that classifies Aariz's CVM
// stages), here on a data source and a model it has never seen.
using classification = mt::task::image_classes<bar_labels, {.mean = 0.0, .std_dev = 1.0}>;
using mean_pooled = mt::task::image_classes<bar_labels, {.pooling = mt::task::class_pooling::mean}>;

struct netImpl : torch::nn::Module {
  explicit netImpl(std::int64_t classes) {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 8, 3).padding(1)));
    head = register_module("head", torch::nn::Linear(8, classes));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    // Max over positions: a bar anywhere lights its orientation's filters.
    return head(torch::relu(conv(x)).amax({2, 3}));
  }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(net);

struct model_spec {
  static constexpr std::string_view name = "bar_net";
  static constexpr int output_stride = 1;
  static net build(const mt::model::build_options& o) { return net(o.num_landmarks); }
};

}  // namespace bars

namespace test_task {
namespace {
template <class... Policies>
using bars_recipe = mt::recipe<bars::model_spec, bars::data_source, bars::classification,
                               mt::optim::adamw<{.lr = 2e-2}>, Policies..., mt::fit<{.epochs = 6, .batch_size = 8}>>;
}  // namespace

TEST_CASE("a classification task trains through the generic loop without touching it") {
  using recipe = bars_recipe<mt::policy::early_stopping<{.patience = 3, .monitor = "val_accuracy",
                                                         .mode = mt::policy::metric_mode::max}>,
                             mt::policy::checkpoint<{.keep_best = 1, .monitor = "val_accuracy",
                                                     .mode = mt::policy::metric_mode::max}>>;
  mixtrain::testing::temporary_directory dir;
  mt::trainer<recipe> t;
  t.run.output_dir = dir.path();
  std::vector<std::string> classes;
  const auto train = t.data.read_split(dir.path(), "train", classes);
  const auto valid = t.data.read_split(dir.path(), "valid", classes);
  torch::manual_seed(1);
  t.build(classes);
  std::ostringstream log;
  t.ctx().log = &log;
  const auto before = t.evaluate(valid).metrics.val_accuracy;
  const auto result = t.fit(train, valid);
  REQUIRE(result.validation.has_value());
  INFO(log.str());
  CHECK(result.validation->metrics.val_accuracy >= 0.9);
  CHECK(result.validation->metrics.val_accuracy > before);
  // The default logging policies write this task's metrics, by name.
  std::ifstream csv(dir.path() / "metrics.csv");
  std::string header;
  std::getline(csv, header);
  CHECK(header.find("val_accuracy") != std::string::npos);
  CHECK(header.find("val_mre") == std::string::npos);
  CHECK(log.str().find("val_accuracy") != std::string::npos);
  CHECK(std::filesystem::exists(dir.path() / "best.pt"));

  // The checkpoint contract is the task's and the data source's.
  mt::trainer<recipe> reloaded;
  reloaded.build(classes);
  reloaded.load_checkpoint(dir.path() / "last.pt", mt::trainer<recipe>::restore::everything);
  CHECK(reloaded.evaluate(valid).metrics.val_accuracy == Approx(result.validation->metrics.val_accuracy));
  mt::trainer<recipe> three_classes;
  three_classes.build({"a", "b", "c"});
  CHECK_THROWS_WITH(three_classes.load_checkpoint(dir.path() / "last.pt", mt::trainer<recipe>::restore::weights_only),
                    Catch::Contains("classes"));
}

namespace {
// A recipe replaces a default logging policy by declaring its exclusive group.
struct quiet_csv {
  static constexpr std::string_view name = "quiet_csv";
  static constexpr std::string_view exclusive = "csv_log";
};
}  // namespace

TEST_CASE("a recipe policy in the csv_log group replaces the default CSV log") {
  using replaced = mt::trainer<bars_recipe<quiet_csv>>;
  using standard = mt::trainer<bars_recipe<>>;
  STATIC_REQUIRE(standard::policy_count == 3);  // console_log, csv_log, progress
  STATIC_REQUIRE(replaced::policy_count == 3);  // quiet_csv, console_log, progress
  STATIC_REQUIRE(std::is_same_v<std::remove_cvref_t<decltype(boost::hana::at_c<1>(std::declval<replaced&>().policies))>,
                                mt::policy::console_log>);
  mixtrain::testing::temporary_directory dir;
  replaced t;
  t.run.output_dir = dir.path();
  t.run.fit.epochs = 1;
  std::vector<std::string> classes;
  const auto train = t.data.read_split(dir.path(), "train", classes);
  t.build(classes);
  std::ostringstream log;
  t.ctx().log = &log;
  t.fit(train, train);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "metrics.csv"));
  CHECK(log.str().find("epoch   1/1") != std::string::npos);
}

TEST_CASE("the class tally gives the confusion matrix, recall, accuracy and cross-entropy of hand-made logits") {
  // Three classes, five images; image 3 is unlabelled.
  const auto logits = torch::tensor({{2.0, 0.0, 0.0}, {0.0, 1.0, 0.0}, {0.0, 3.0, 0.0}, {5.0, 0.0, 0.0}, {0.0, 0.0, 1.0}})
                          .reshape({5, 3});
  mt::task::class_tally tally({"a", "b", "c"}, 5);
  tally.add(logits, {0, 1, 2, -1, 2}, {0, 1, 2, 3, 4});
  const auto r = tally.finish(0.4);
  CHECK(r.labelled == 4);
  CHECK(r.confusion == std::vector<std::vector<std::int64_t>>{{1, 0, 0}, {0, 1, 0}, {0, 1, 1}});
  CHECK(r.recall[0] == 1.0);
  CHECK(r.recall[1] == 1.0);
  CHECK(r.recall[2] == 0.5);
  CHECK(r.metrics.val_accuracy == Approx(0.75));
  CHECK(r.metrics.val_balanced_accuracy == Approx(2.5 / 3));
  // -log softmax of the true class, by hand: log(1 + 2/e^2), log(2 + e), log(2 + e^3) - 0, log(2 + e) - 1.
  const double e = std::exp(1.0);
  const double expected = (std::log(e * e + 2) - 2 + std::log(e + 2) - 1 + std::log(2 + e * e * e) +
                           std::log(2 + e) - 1) / 4;
  CHECK(r.metrics.val_cross_entropy == Approx(expected).epsilon(1e-9));
  CHECK(r.predicted == std::vector<std::int64_t>{0, 1, 1, 0, 2});  // the unlabelled image is predicted too
  CHECK(r.probability[3] == Approx(std::exp(5.0) / (std::exp(5.0) + 2)).epsilon(1e-12));
  CHECK(r.probability[0] == Approx(e * e / (e * e + 2)).epsilon(1e-12));
  CHECK(r.majority_share == 0.4);
  const auto j = r.json();
  CHECK(j["recall"]["c"].get<double>() == 0.5);
  CHECK(j["confusion"][2][1].get<int>() == 1);
}

TEST_CASE("the class tally scores an image seen in two views once on the mean of its logits") {
  // Image 0 in two views: logits (3, 0) and (-1, 2) average to (1, 1), a tie won by class 0
  // with probability 1/2; image 1 once. Counting views would give three labelled samples.
  const auto logits = torch::tensor({3.0, 0.0, -1.0, 2.0, 0.0, 4.0}).reshape({3, 2});
  mt::task::class_tally tally({"a", "b"}, 2);
  tally.add(logits, {1, 1, 1}, {0, 0, 1});
  const auto r = tally.finish(1.0);
  CHECK(r.labelled == 2);
  CHECK(r.predicted == std::vector<std::int64_t>{0, 1});
  CHECK(r.probability[0] == Approx(0.5).epsilon(1e-12));
  CHECK(r.confusion == std::vector<std::vector<std::int64_t>>{{0, 0}, {1, 1}});
  CHECK(r.metrics.val_cross_entropy == Approx((std::log(2.0) + std::log(1 + std::exp(-4.0))) / 2).epsilon(1e-12));
}

TEST_CASE("image classes pool each class plane over the image and skip unlabelled images in the loss") {
  // [2 images, 2 classes, 2x2]: plane means (or maxima) are the logits.
  auto output = torch::zeros({2, 2, 2, 2});
  output[0][0].fill_(1.0);
  output[0][1].copy_(torch::tensor({0.0, 2.0, 2.0, 0.0}).reshape({2, 2}));  // mean 1
  output[1][1].fill_(3.0);
  const auto labels = torch::tensor({1, -1}, torch::kInt64);
  const auto by_mean = bars::mean_pooled{}.class_loss(output, labels);
  CHECK(by_mean.count.item<double>() == 1.0);
  CHECK(by_mean.sum.item<double>() == Approx(std::log(2.0)));  // logits 1 and 1
  const auto by_max = bars::classification{}.class_loss(output, labels);
  CHECK(by_max.count.item<double>() == 1.0);
  CHECK(by_max.sum.item<double>() == Approx(std::log(1 + std::exp(-1.0))));  // logits 1 and 2, true class 1
}

TEST_CASE("the CVM stage labels map the file values 1 to 6 to six classes and anything else to none") {
  using stages = mt::task::cvm_stages;
  CHECK(stages::classes(0) == std::vector<std::string>{"CS1", "CS2", "CS3", "CS4", "CS5", "CS6"});
  CHECK(stages::from_value(1) == 0);
  CHECK(stages::from_value(6) == 5);
  CHECK(stages::from_value(0) == -1);
  CHECK(stages::from_value(7) == -1);
  CHECK(stages::from_value(-1) == -1);
}

TEST_CASE("a model with a global class head gives each logit as a constant plane after its heatmaps") {
  torch::manual_seed(3);
  auto both = mt::model::compact_unet<{.width = 8}>::build({.num_landmarks = 3, .in_channels = 1, .image_classes = 2});
  both->eval();
  const auto out = both->forward(torch::randn({2, 1, 64, 64}));
  CHECK(out.sizes() == torch::IntArrayRef{2, 5, 16, 16});
  const auto planes = out.narrow(1, 3, 2);
  CHECK(torch::equal(planes, planes.amax({2, 3}, true).expand_as(planes)));  // constant over the image
  auto classes_only = mt::model::compact_unet<{.width = 8}>::build({.num_landmarks = 0, .in_channels = 1, .image_classes = 6});
  CHECK(classes_only->forward(torch::randn({1, 1, 64, 64})).sizes() == torch::IntArrayRef{1, 6, 16, 16});
  STATIC_REQUIRE(mt::model::has_global_class_head<mt::model::compact_unet<>>);
  STATIC_REQUIRE_FALSE(mt::model::has_global_class_head<bars::model_spec>);
}

TEST_CASE("the multi-task loss adds class_weight times L times the summed cross-entropy to the heatmap loss") {
  using heatmaps = mt::task::landmark_heatmaps<{.sigma = 1.5}>;
  using stages = mt::task::image_classes<mt::task::cvm_stages>;
  mt::task::landmarks_and_classes<heatmaps, stages, {.class_weight = 0.5}> task;
  const mt::data::landmark_set set{{"A", "B"}, {"A", "B"}};
  const auto options = task.setup(set, mt::model_facts{"m", 4, 1, true});
  CHECK(options.num_landmarks == 2);  // heatmaps; the six stages come from the model's global head
  CHECK(options.image_classes == 6);
  mt::data::batch b;
  b.size = 2;
  b.height = b.width = 32;
  b.num_landmarks = 2;
  b.pixels.assign(2 * 32 * 32, 100);
  b.landmarks = {4, 5, 20, 21, 10, 11, 30, 2};
  b.present = {1, 1, 1, 0};
  b.image_labels = {3, 0};  // stage CS3 (class 2), and an image without a stage
  b.dataset_indices = {0, 1};
  b.input_from_original.assign(2, mt::data::affine(1, 0, 0, 0, 1, 0));
  const auto device_batch = task.to_device(b, torch::kCPU);
  torch::manual_seed(4);
  const auto output = torch::randn({2, 8, 8, 8});
  const auto terms = task.loss(output, device_batch);
  // By hand from the parts: the heatmap task alone on planes 0-1, the cross-entropy of image 0 alone.
  heatmaps alone;
  alone.setup(set, mt::model_facts{"m", 4, 1, false});
  const auto landmark = alone.loss(output.narrow(1, 0, 2), alone.to_device(b, torch::kCPU));
  const auto logits = output.narrow(1, 2, 6).amax({2, 3});
  const double ce = -torch::log_softmax(logits[0], 0)[2].item<double>();
  CHECK(terms.count.item<double>() == Approx(3.0));  // present landmarks
  CHECK(terms.sum.item<double>() == Approx(landmark.sum.item<double>() + 0.5 * 2 * ce).epsilon(1e-5));
}

}  // namespace test_task
