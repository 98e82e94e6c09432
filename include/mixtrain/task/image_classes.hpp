#pragma once
// Whole-image classification: one class per image, e.g. Aariz's CVM stage.
// The model keeps its one dense output contract. A model with a global class
// head (compact_unet, hrnet: pooled deepest features and a linear layer)
// gives each class logit as a plane after its heatmaps; any other model is
// asked for one dense plane per class, pooled here. Either way the same
// backbone can serve heatmaps and classes (task/landmarks_and_classes.hpp).
// Images without a label (-1) take no part in the loss or the metrics.
//
//   mt::task::image_classes<mt::task::cvm_stages>
//
// `Labels` names the classes and reads a batch's and a sample's label:
//   classes(targets) -> std::vector<std::string>
//   label(batch, i) -> std::int64_t, label(sample) -> std::int64_t  (-1: none)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/device_copy.hpp>
#include <mixtrain/core/fields.hpp>
#include <mixtrain/core/roles.hpp>
#include <mixtrain/data/annotation.hpp>
#include <mixtrain/data/batch_pipeline.hpp>

namespace mixtrain::task {

// Aariz's six cervical-vertebral-maturation stages: file values 1-6 become
// classes CS1-CS6 (0-5); any other value counts as unlabelled.
struct cvm_stages {
  static constexpr std::string_view name = "cvm_stage";
  static constexpr int count = 6;
  template <class Targets>
  static std::vector<std::string> classes(const Targets&) {
    std::vector<std::string> names;
    for (int s = 1; s <= count; ++s) names.push_back("CS" + std::to_string(s));
    return names;
  }
  static std::int64_t from_value(int value) { return value >= 1 && value <= count ? value - 1 : -1; }
  static std::int64_t label(const data::batch& b, int i) {
    const auto at = static_cast<std::size_t>(i);
    return at < b.image_labels.size() ? from_value(b.image_labels[at]) : -1;
  }
  static std::int64_t label(const data::annotated_image& image) { return from_value(image.cvm_stage); }
};

// How a class plane becomes one logit: its mean over the image (global
// average pooling), or its maximum, which lets a small structure (the
// vertebrae, a fifth of the image's height) decide without being diluted.
enum class class_pooling { mean, max };

struct image_classes_config {
  class_pooling pooling = class_pooling::max;
  double mean = 0.5;  // input normalisation: (x / 255 - mean) / std_dev
  double std_dev = 0.25;
};

// Validation metrics (names are what policies monitor and metrics.csv's columns).
struct class_metrics {
  double val_accuracy = 0;
  double val_balanced_accuracy = 0;  // mean recall over the classes present in the split
  double val_cross_entropy = 0;

  static constexpr auto fields() {
    return std::tuple{field{&class_metrics::val_accuracy, "val_accuracy"},
                      field{&class_metrics::val_balanced_accuracy, "val_balanced_accuracy"},
                      field{&class_metrics::val_cross_entropy, "val_cross_entropy"}};
  }
};

// One pass over a split: the metrics, per-class recall, the confusion matrix
// (rows: truth, columns: prediction) and each image's predicted class with its probability.
struct class_evaluation {
  class_metrics metrics;
  std::vector<std::string> classes;
  std::vector<std::vector<std::int64_t>> confusion;
  std::vector<double> recall;          // per class; NaN where the split has none of it
  double majority_share = 0;           // the most frequent true class's share: what guessing it scores
  std::int64_t labelled = 0;
  std::vector<std::int64_t> predicted;  // per image of the split (labelled or not), -1 before evaluation
  std::vector<double> probability;      // of the predicted class, per image
  double seconds = 0;

  [[nodiscard]] nlohmann::json json() const {
    nlohmann::json recall_json = nlohmann::json::object();
    for (std::size_t c = 0; c < classes.size(); ++c)
      recall_json[classes[c]] = std::isnan(recall[c]) ? nlohmann::json(nullptr) : nlohmann::json(recall[c]);
    auto j = describe_fields(metrics);
    j["classes"] = classes;
    j["recall"] = recall_json;
    j["confusion"] = confusion;
    j["majority_share"] = majority_share;
    j["labelled_images"] = labelled;
    return j;
  }

  void print(std::ostream& out) const {
    out << fmt::format("{} labelled images: accuracy {:.1f}% (the majority class alone: {:.1f}%), balanced {:.1f}%, "
                       "cross-entropy {:.3f}\n",
                       labelled, 100 * metrics.val_accuracy, 100 * majority_share, 100 * metrics.val_balanced_accuracy,
                       metrics.val_cross_entropy);
    out << fmt::format("{:<8}", "truth");
    for (const auto& c : classes) out << fmt::format(" {:>6}", c);
    out << fmt::format(" {:>8}\n", "recall");
    for (std::size_t r = 0; r < classes.size(); ++r) {
      out << fmt::format("{:<8}", classes[r]);
      for (const auto n : confusion[r]) out << fmt::format(" {:>6}", n);
      out << (std::isnan(recall[r]) ? fmt::format(" {:>8}\n", "-") : fmt::format(" {:>7.1f}%\n", 100 * recall[r]));
    }
  }
};

// Accumulates predictions and scores them; shared by image_classes and the
// multi-task evaluator. An image seen in several views (test-time
// augmentation) is scored once, on the mean of its views' logits.
class class_tally {
 public:
  explicit class_tally(std::vector<std::string> classes, std::size_t images)
      : logit_sums_(images, std::vector<double>(classes.size(), 0.0)), views_(images, 0), labels_(images, -1) {
    result_.classes = std::move(classes);
    const auto n = result_.classes.size();
    result_.confusion.assign(n, std::vector<std::int64_t>(n, 0));
    result_.predicted.assign(images, -1);
    result_.probability.assign(images, 0.0);
  }
  // logits [B, C] on any device; labels -1 are left out of the scores, but
  // every image gets its predicted class and probability.
  void add(const torch::Tensor& logits, const std::vector<std::int64_t>& labels, const std::vector<std::size_t>& indices) {
    const auto cpu = logits.detach().to(torch::kCPU, torch::kFloat64).contiguous();
    const auto rows = cpu.accessor<double, 2>();
    for (std::size_t i = 0; i < labels.size(); ++i) {
      auto& sum = logit_sums_[indices[i]];
      for (std::size_t c = 0; c < sum.size(); ++c) sum[c] += rows[static_cast<long>(i)][static_cast<long>(c)];
      ++views_[indices[i]];
      labels_[indices[i]] = labels[i];
    }
  }
  // Data parallelism (see landmark_heatmaps' evaluator): the logit sums and
  // view counts add over the ranks; a label travels as views x (label + 1),
  // which also adds and divides back exactly.
  void sum_over_ranks(auto&& sum) {
    const auto n = logit_sums_.size();
    const auto c = result_.classes.size();
    auto flat = torch::zeros({static_cast<std::int64_t>(n * (c + 2))}, torch::kFloat64);
    auto* v = flat.data_ptr<double>();
    for (std::size_t i = 0; i < n; ++i) {
      for (const double logit : logit_sums_[i]) *v++ = logit;
      *v++ = views_[i];
      *v++ = views_[i] * static_cast<double>(labels_[i] + 1);
    }
    sum(flat);
    const auto* w = flat.data_ptr<double>();
    for (std::size_t i = 0; i < n; ++i) {
      for (double& logit : logit_sums_[i]) logit = *w++;
      views_[i] = static_cast<int>(std::lround(*w++));
      const double label_code = *w++;
      labels_[i] = views_[i] > 0 ? std::lround(label_code / views_[i]) - 1 : -1;
    }
  }
  class_evaluation finish(double majority_share) {
    auto& r = result_;
    const auto n = r.classes.size();
    double cross_entropy = 0;
    for (std::size_t image = 0; image < views_.size(); ++image) {
      if (views_[image] == 0 || n == 0) continue;
      // log-softmax of the mean logits, computed stably.
      std::vector<double> mean(n);
      for (std::size_t c = 0; c < n; ++c) mean[c] = logit_sums_[image][c] / views_[image];
      const auto best = static_cast<std::size_t>(std::max_element(mean.begin(), mean.end()) - mean.begin());
      double total = 0;
      for (const double v : mean) total += std::exp(v - mean[best]);
      const double log_normaliser = mean[best] + std::log(total);
      r.predicted[image] = static_cast<std::int64_t>(best);
      r.probability[image] = std::exp(mean[best] - log_normaliser);
      if (labels_[image] < 0) continue;
      const auto label = static_cast<std::size_t>(labels_[image]);
      ++r.confusion[label][best];
      cross_entropy -= mean[label] - log_normaliser;
      ++r.labelled;
    }
    std::int64_t correct = 0, present = 0;
    double recall_sum = 0;
    r.recall.assign(n, std::nan(""));
    for (std::size_t c = 0; c < n; ++c) {
      std::int64_t row = 0;
      for (const auto v : r.confusion[c]) row += v;
      correct += r.confusion[c][c];
      if (row == 0) continue;
      r.recall[c] = static_cast<double>(r.confusion[c][c]) / static_cast<double>(row);
      recall_sum += r.recall[c];
      ++present;
    }
    const double labelled = std::max<double>(1, static_cast<double>(r.labelled));
    r.metrics = {static_cast<double>(correct) / labelled, present ? recall_sum / static_cast<double>(present) : 0,
                 cross_entropy / labelled};
    r.majority_share = majority_share;
    return std::move(r);
  }

 private:
  class_evaluation result_;
  std::vector<std::vector<double>> logit_sums_;  // [image][class] over its views
  std::vector<int> views_;
  std::vector<std::int64_t> labels_;
};

// The share of the most frequent label among a split's labelled samples.
template <class Labels, class Set>
double majority_share(const Set& set) {
  std::vector<std::int64_t> counts;
  std::int64_t labelled = 0;
  for (const auto& sample : set.images) {
    const auto label = Labels::label(sample);
    if (label < 0) continue;
    if (counts.size() <= static_cast<std::size_t>(label)) counts.resize(static_cast<std::size_t>(label) + 1, 0);
    ++counts[static_cast<std::size_t>(label)];
    ++labelled;
  }
  return labelled ? static_cast<double>(*std::ranges::max_element(counts)) / static_cast<double>(labelled) : 0;
}

// Per-image logits [B, C] (a model that already gives [B, C] passes through).
inline torch::Tensor pooled_logits(const torch::Tensor& output, class_pooling pooling) {
  if (output.dim() != 4) return output;
  return pooling == class_pooling::max ? output.amax({2, 3}) : output.mean({2, 3});
}

// uint8 pixels [B, 1, H, W] become the normalised float input on the device.
template <class Batch>
torch::Tensor normalised_input(const Batch& b, torch::Device device, double mean, double std_dev) {
  auto pixels = to_device_async(
      torch::from_blob(const_cast<std::uint8_t*>(b.pixels.data()), {b.size, 1, b.height, b.width}, torch::kUInt8), device);
  return pixels.to(torch::kFloat32).mul_(1.0 / (255.0 * std_dev)).sub_(mean / std_dev);
}

template <class Labels, image_classes_config C = image_classes_config{}>
struct image_classes {
  static_assert(C.std_dev > 0, "image_classes: std_dev must be positive.");
  static constexpr std::string_view name = "image_classes";
  using metrics_type = class_metrics;
  using labels_type = Labels;

  image_classes_config config = C;

  struct device_batch {
    torch::Tensor input;
    torch::Tensor labels;  // [B] int64, -1 = none
  };

  // A model with a global head gives the logits as constant planes; any
  // other model gives one dense plane per class, pooled here.
  template <class Targets>
  model::build_options setup(const Targets& targets, const model_facts& facts) {
    classes_ = Labels::classes(targets);
    global_head_ = facts.global_class_head;
    const auto n = static_cast<std::int64_t>(classes_.size());
    return global_head_ ? model::build_options{0, 1, n} : model::build_options{n, 1, 0};
  }

  template <class Batch>
  torch::Tensor input(const Batch& b, torch::Device device) const {
    return normalised_input(b, device, config.mean, config.std_dev);
  }
  template <class Batch>
  static std::vector<std::int64_t> labels_of(const Batch& b) {
    std::vector<std::int64_t> labels(static_cast<std::size_t>(b.size));
    for (int i = 0; i < b.size; ++i) labels[static_cast<std::size_t>(i)] = Labels::label(b, i);
    return labels;
  }
  template <class Batch>
  static torch::Tensor labels_on(const Batch& b, torch::Device device) {
    return to_device_async(torch::tensor(labels_of(b), torch::kInt64), device);
  }
  template <class Batch>
  device_batch to_device(const Batch& b, torch::Device device) const {
    return {input(b, device), labels_on(b, device)};
  }

  // Summed cross-entropy over the labelled images, and their count.
  loss_terms class_loss(const torch::Tensor& output, const torch::Tensor& labels) const {
    const auto logits = pooled_logits(output, config.pooling).to(torch::kFloat32);
    const auto labelled = labels.ge(0);
    const auto per = torch::nn::functional::cross_entropy(
        logits, labels.clamp_min(0), torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    const auto weight = labelled.to(per.dtype());
    return {(per * weight).sum(), weight.sum()};
  }
  loss_terms loss(const torch::Tensor& output, const device_batch& batch) const { return class_loss(output, batch.labels); }

  template <class Set>
  class evaluator_type {
   public:
    evaluator_type(const image_classes& task, const Set& set)
        : task_(task), tally_(task.classes_, set.images.size()), set_(set), started_(std::chrono::steady_clock::now()) {}
    template <class Batch>
    void add(const Batch& b, const torch::Tensor& output) {
      tally_.add(pooled_logits(output, task_.config.pooling), labels_of(b), b.dataset_indices);
    }
    void sum_over_ranks(auto&& sum) { tally_.sum_over_ranks(sum); }
    class_evaluation finish() {
      auto result = tally_.finish(majority_share<Labels>(set_));
      result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
      return result;
    }

   private:
    const image_classes& task_;
    class_tally tally_;
    const Set& set_;
    std::chrono::steady_clock::time_point started_;
  };
  template <class Set>
  evaluator_type<Set> evaluator(const Set& set) const {
    return evaluator_type<Set>(*this, set);
  }

  [[nodiscard]] nlohmann::json contract() const {
    return {{"classes", classes_}, {"labels", Labels::name},
            {"pooling", config.pooling == class_pooling::max ? "max" : "mean"}, {"normalisation", {{"mean", config.mean}, {"std", config.std_dev}}}};
  }
  [[nodiscard]] nlohmann::json describe() const {
    return {{"name", name}, {"labels", Labels::name}, {"classes", classes_}, {"num_classes", classes_.size()},
            {"head", global_head_ ? std::string("the model's global class head (pooled deepest features, linear)")
                                  : std::string("one output plane per class, pooled over the image by its ") +
                                        (config.pooling == class_pooling::max ? "maximum" : "mean")}};
  }
  [[nodiscard]] const std::vector<std::string>& classes() const { return classes_; }

 private:
  std::vector<std::string> classes_;
  bool global_head_ = false;
};

}  // namespace mixtrain::task
