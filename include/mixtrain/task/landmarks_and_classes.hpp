#pragma once
// Landmark heatmaps and a whole-image class (Aariz's CVM stage) from one
// shared backbone: the model's dense output has L heatmap planes followed by
// C class planes (from its global class head where it has one); the heatmap
// task reads the first, the class task pools the rest (task/image_classes.hpp).
//
//   mt::task::landmarks_and_classes<mt::task::landmark_heatmaps<{.sigma = 2}>,
//                                   mt::task::image_classes<mt::task::cvm_stages>, {.class_weight = 0.0005}>
//
// The loss. The loop divides a window's summed loss by its summed count (the
// present landmarks), so the class term is added as class_weight x L x its
// summed cross-entropy: with every landmark present that is exactly
//   heatmap loss per landmark + class_weight x cross-entropy per image,
// whatever the accumulation. A heatmap loss per landmark is about 1e-3 at
// the start (MSE of Gaussian maps) against ~1.8 for six-way cross-entropy,
// hence a small class_weight: on the synthetic CVM data 0.0005 kept the MRE
// within 4% of the landmark-only recipe; 0.001 and up cost more and spiked
// (docs/benchmarks.md).
#include <cstdint>
#include <string_view>
#include <tuple>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/flag_set.hpp>
#include <mixtrain/core/roles.hpp>
#include <mixtrain/task/image_classes.hpp>
#include <mixtrain/task/landmark_heatmaps.hpp>

namespace mixtrain::task {

struct landmarks_and_classes_config {
  double class_weight = 0.0005;  // see the header comment
};

// Both tasks' validation metrics, under their own names.
struct landmark_class_metrics : landmark_metrics, class_metrics {
  static constexpr auto fields() { return std::tuple_cat(landmark_metrics::fields(), class_metrics::fields()); }
};

// The landmark evaluation (so reports, predict and the golden tests read it
// as they read the heatmap task's) with the class evaluation beside it.
struct landmark_class_evaluation : landmark_evaluation {
  landmark_class_metrics metrics;  // both; hides landmark_evaluation::metrics on purpose
  class_evaluation classes;
};

template <class Heatmaps, class Classes, landmarks_and_classes_config C = landmarks_and_classes_config{}>
struct landmarks_and_classes {
  static_assert(C.class_weight >= 0, "landmarks_and_classes: class_weight must not be negative.");
  static constexpr std::string_view name = "landmarks_and_classes";
  using metrics_type = landmark_class_metrics;
  using loss_type = typename Heatmaps::loss_type;
  using decoder = typename Heatmaps::decoder;

  landmarks_and_classes_config config = C;
  Heatmaps heatmaps;
  Classes classes;

  struct device_batch {
    torch::Tensor input;
    typename Heatmaps::device_batch landmarks;
    torch::Tensor labels;
  };

  template <class Targets>
  model::build_options setup(const Targets& targets, const model_facts& facts) {
    landmark_planes_ = heatmaps.setup(targets, facts).num_landmarks;
    const auto c = classes.setup(targets, facts);  // dense planes, or the model's global head
    class_planes_ = c.num_landmarks + c.image_classes;
    return {landmark_planes_ + c.num_landmarks, 1, c.image_classes};
  }
  template <class Split>
  void prepare(const Split& train) {
    heatmaps.prepare(train);
  }

  template <class Batch>
  torch::Tensor input(const Batch& b, torch::Device device) const {
    return heatmaps.input(b, device);
  }
  template <class Batch>
  device_batch to_device(const Batch& b, torch::Device device) const {
    auto landmarks = heatmaps.to_device(b, device);
    auto input = landmarks.input;
    return {input, std::move(landmarks), Classes::labels_on(b, device)};
  }

  [[nodiscard]] torch::Tensor landmark_output(const torch::Tensor& output) const {
    return output.narrow(1, 0, landmark_planes_);
  }
  [[nodiscard]] torch::Tensor class_output(const torch::Tensor& output) const {
    return output.narrow(1, landmark_planes_, class_planes_);
  }

  loss_terms loss(const torch::Tensor& output, const device_batch& batch) const {
    const auto landmark = heatmaps.loss(landmark_output(output), batch.landmarks);
    const auto stage = classes.class_loss(class_output(output), batch.labels);
    const double scale = config.class_weight * static_cast<double>(landmark_planes_);
    return {landmark.sum + stage.sum.to(landmark.sum.dtype()) * scale, landmark.count};
  }

  template <class Set>
  class evaluator_type {
    using landmark_evaluator = decltype(std::declval<const Heatmaps&>().evaluator(std::declval<const Set&>()));
    using class_evaluator = decltype(std::declval<const Classes&>().evaluator(std::declval<const Set&>()));

   public:
    evaluator_type(const landmarks_and_classes& task, const Set& set)
        : task_(task),
          landmarks_(task.heatmaps.evaluator(set)),
          classes_(task.classes.evaluator(set)) {}
    template <class Batch>
    void add(const Batch& b, const torch::Tensor& output) {
      landmarks_.add(b, task_.landmark_output(output).contiguous());
      classes_.add(b, task_.class_output(output));
    }
    // Data parallelism, where both parts can add their state over the ranks.
    void sum_over_ranks(auto&& sum)
      requires requires(landmark_evaluator& l, class_evaluator& c) {
        l.sum_over_ranks(sum);
        c.sum_over_ranks(sum);
      }
    {
      landmarks_.sum_over_ranks(sum);
      classes_.sum_over_ranks(sum);
    }
    landmark_class_evaluation finish() {
      landmark_class_evaluation result;
      static_cast<landmark_evaluation&>(result) = landmarks_.finish();
      result.classes = classes_.finish();
      static_cast<landmark_metrics&>(result.metrics) = result.landmark_evaluation::metrics;
      static_cast<class_metrics&>(result.metrics) = result.classes.metrics;
      return result;
    }

   private:
    const landmarks_and_classes& task_;
    landmark_evaluator landmarks_;
    class_evaluator classes_;
  };
  template <class Set>
  evaluator_type<Set> evaluator(const Set& set) const {
    return evaluator_type<Set>(*this, set);
  }

  [[nodiscard]] nlohmann::json contract() const {
    auto j = heatmaps.contract();
    const auto c = classes.contract();
    j["classes"] = c.at("classes");
    j["class_labels"] = c.at("labels");
    j["class_weight"] = config.class_weight;
    return j;
  }
  // predict: the landmark set is the heatmap task's.
  static auto targets_from_contract(const nlohmann::json& contract) { return Heatmaps::targets_from_contract(contract); }

  [[nodiscard]] nlohmann::json describe() const {
    return {{"name", name},
            {"num_landmarks", heatmaps.landmarks().size()},
            {"landmarks", heatmaps.landmarks().symbols},
            {"heatmaps", heatmaps.describe()},
            {"classes", classes.describe()},
            {"class_weight", config.class_weight},
            {"output_planes", landmark_planes_ + class_planes_}};
  }
  void add_flags(flag_set cli) {
    cli.add_option("--class_weight", config.class_weight, "weight of the class cross-entropy beside the heatmap loss")
        .check(non_negative_number());
  }

  [[nodiscard]] const data::landmark_set& landmarks() const { return heatmaps.landmarks(); }
  [[nodiscard]] bool has_baseline() const { return heatmaps.has_baseline(); }

 private:
  std::int64_t landmark_planes_ = 0;
  std::int64_t class_planes_ = 0;
};

}  // namespace mixtrain::task
