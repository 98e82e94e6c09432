#pragma once
// The heatmap landmark task: Gaussian targets rendered on the device at
// heatmap resolution, a heatmap loss weighted by landmark presence, decoding
// back to original pixels through the exact inverse of each sample's input
// transform, radial-error metrics in mm beside the mean-shape baseline, and
// its part of the checkpoint contract (landmark symbols, normalisation,
// heatmap stride and sigma, decoder).
//
//   mt::task::landmark_heatmaps<{.sigma = 2.0}, mt::loss::heatmap_mse, mt::heatmap::dark>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/device_copy.hpp>
#include <mixtrain/core/fields.hpp>
#include <mixtrain/core/roles.hpp>
#include <mixtrain/data/annotation.hpp>
#include <mixtrain/data/batch_pipeline.hpp>
#include <mixtrain/data/geometry.hpp>
#include <mixtrain/heatmap/decode.hpp>
#include <mixtrain/heatmap/decoder_spec.hpp>
#include <mixtrain/heatmap/render.hpp>
#include <mixtrain/loss/heatmap_mse.hpp>
#include <mixtrain/loss/loss_spec.hpp>
#include <mixtrain/metric/landmark_metrics.hpp>

namespace mixtrain::task {

struct landmark_heatmaps_config {
  double sigma = 2.0;     // Gaussian target sigma, in heatmap pixels
  double mean = 0.5;      // input normalisation: (x / 255 - mean) / std_dev
  double std_dev = 0.25;
};

// Validation metrics (names are what policies monitor and metrics.csv's columns).
struct landmark_metrics {
  double val_mre = 0;
  double val_sd = 0;
  double val_sdr_2mm = 0;
  double val_sdr_2_5mm = 0;
  double val_sdr_3mm = 0;
  double val_sdr_4mm = 0;

  static constexpr auto fields() {
    return std::tuple{field{&landmark_metrics::val_mre, "val_mre"},         field{&landmark_metrics::val_sd, "val_sd"},
                      field{&landmark_metrics::val_sdr_2mm, "val_sdr_2mm"}, field{&landmark_metrics::val_sdr_2_5mm, "val_sdr_2_5mm"},
                      field{&landmark_metrics::val_sdr_3mm, "val_sdr_3mm"}, field{&landmark_metrics::val_sdr_4mm, "val_sdr_4mm"}};
  }
};

// Predictions and errors of one pass over a split.
struct landmark_evaluation {
  landmark_metrics metrics;
  metric::radial_errors errors{0};
  metric::radial_errors baseline_errors{0};
  std::vector<std::vector<data::point>> predictions;  // per image, original pixels
  // Per image, per landmark: the peak of the landmark's raw output map (the
  // maximum over its heatmap, before any decoder smoothing). Targets are
  // Gaussians of height 1, so ~1 is a confident, well-formed peak and values
  // near 0 mean the model found nothing; it is not a probability. With
  // test-time augmentation, the mean over the views.
  std::vector<std::vector<float>> confidences;
  double seconds = 0;
};

template <landmark_heatmaps_config C = landmark_heatmaps_config{}, class Loss = loss::heatmap_mse,
          class Decoder = heatmap::dark>
struct landmark_heatmaps {
  static_assert(C.sigma > 0, "landmark_heatmaps: sigma must be positive.");
  static_assert(C.std_dev > 0, "landmark_heatmaps: std_dev must be positive.");
  static_assert(loss::loss_spec<Loss>,
                "landmark_heatmaps: the loss must be a heatmap loss spec (name, per_landmark(p, t), operator()(p, t, w)), "
                "such as mt::loss::heatmap_mse.");
  static_assert(heatmap::decoder_spec<Decoder>,
                "landmark_heatmaps: the decoder must be a heatmap decoder spec (name, decode(heatmaps, sigma)), such as "
                "mt::heatmap::dark.");

  static constexpr std::string_view name = "landmark_heatmaps";
  using metrics_type = landmark_metrics;
  using loss_type = Loss;
  using decoder = Decoder;

  landmark_heatmaps_config config = C;
  [[no_unique_address]] Loss loss_function;

  struct device_batch {
    torch::Tensor input;   // [B, 1, H, W] normalised float
    torch::Tensor target;  // [B, L, h, w]
    torch::Tensor weight;  // [B, L]; 0 = missing
  };

  model::build_options setup(const data::landmark_set& landmarks, const model_facts& facts) {
    landmarks_ = landmarks;
    stride_ = facts.output_stride;
    return {static_cast<std::int64_t>(landmarks.size()), 1};
  }

  // A new training set: the mean-shape baseline that metrics are shown beside.
  void prepare(const data::split& train) { baseline_.emplace(train); }

  // uint8 pixels become the normalised float input on the device.
  torch::Tensor input(const data::batch& b, torch::Device device) const {
    auto pixels = to_device_async(
        torch::from_blob(const_cast<std::uint8_t*>(b.pixels.data()), {b.size, 1, b.height, b.width}, torch::kUInt8), device);
    return pixels.to(torch::kFloat32).mul_(1.0 / (255.0 * config.std_dev)).sub_(config.mean / config.std_dev);
  }

  // Input plus Gaussian targets, rendered on the device at heatmap resolution.
  device_batch to_device(const data::batch& b, torch::Device device) const {
    auto coords = to_device_async(
        torch::from_blob(const_cast<float*>(b.landmarks.data()), {b.size, b.num_landmarks, 2}, torch::kFloat32), device);
    coords = (coords + 0.5) / static_cast<double>(stride_) - 0.5;
    auto target = heatmap::render_gaussian(coords, b.height / stride_, b.width / stride_, config.sigma);
    auto weight =
        to_device_async(torch::from_blob(const_cast<float*>(b.present.data()), {b.size, b.num_landmarks}, torch::kFloat32), device);
    return {input(b, device), target, weight};
  }

  loss_terms loss(const torch::Tensor& output, const device_batch& batch) const {
    const auto per = loss_function.per_landmark(output, batch.target);
    const auto w = batch.weight.to(per.dtype());
    return {(per * w).sum(), w.sum()};
  }

  // Heatmaps [B, L, h, w] to original-pixel coordinates, per sample.
  std::vector<std::vector<data::point>> decode(const data::batch& b, const torch::Tensor& heatmaps) const {
    const auto coords = Decoder::decode(heatmaps, config.sigma).to(torch::kCPU).contiguous();
    const auto acc = coords.template accessor<float, 3>();
    const double stride = stride_;
    std::vector<std::vector<data::point>> out(static_cast<std::size_t>(b.size));
    for (int i = 0; i < b.size; ++i) {
      const auto original_from_input = data::invert(b.input_from_original[static_cast<std::size_t>(i)]);
      auto& predicted = out[static_cast<std::size_t>(i)];
      predicted.resize(static_cast<std::size_t>(b.num_landmarks));
      for (std::size_t k = 0; k < predicted.size(); ++k) {
        const data::point in_input{(acc[i][static_cast<long>(k)][0] + 0.5) * stride - 0.5,
                                   (acc[i][static_cast<long>(k)][1] + 0.5) * stride - 0.5};
        predicted[k] = data::apply(original_from_input, in_input);
      }
    }
    return out;
  }

  // Heatmaps [B, L, h, w] to each landmark's peak value [B][L] (see
  // landmark_evaluation::confidences).
  static std::vector<std::vector<float>> confidences(const torch::Tensor& heatmaps) {
    const auto peaks = heatmaps.detach().flatten(2).amax(2).to(torch::kCPU, torch::kFloat32).contiguous();
    const auto acc = peaks.accessor<float, 2>();
    std::vector<std::vector<float>> out(static_cast<std::size_t>(peaks.size(0)));
    for (std::size_t i = 0; i < out.size(); ++i)
      for (std::int64_t k = 0; k < peaks.size(1); ++k) out[i].push_back(acc[static_cast<long>(i)][k]);
    return out;
  }

  // Collects the predictions of one split and scores them. A split may come
  // as several views of each image (test-time augmentation: the same dataset
  // index more than once, each with its own input transform); each view is
  // decoded through its own inverse, and the mean over an image's views is
  // what is scored. With one view per image the mean is that view.
  class evaluator_type {
   public:
    evaluator_type(const landmark_heatmaps& task, const data::split& set)
        : task_(task), set_(set), started_(std::chrono::steady_clock::now()) {
      const auto n = set.images.size(), l = task.landmarks_.size();
      result_.errors = metric::radial_errors(l);
      result_.baseline_errors = metric::radial_errors(l);
      sums_.assign(n, std::vector<sum>(l));
      views_.assign(n, 0);
    }
    void add(const data::batch& b, const torch::Tensor& heatmaps) {
      const auto predicted = task_.decode(b, heatmaps);
      const auto peaks = confidences(heatmaps);
      for (std::size_t i = 0; i < predicted.size(); ++i) {
        auto& s = sums_[b.dataset_indices[i]];
        if (predicted[i].size() != s.size() || peaks[i].size() != s.size())
          throw std::logic_error("landmark_heatmaps: the output has " + std::to_string(peaks[i].size()) +
                                 " landmark planes, the task expects " + std::to_string(s.size()));
        for (std::size_t k = 0; k < s.size(); ++k) {
          s[k].x += predicted[i][k].x;
          s[k].y += predicted[i][k].y;
          s[k].confidence += peaks[i][k];
        }
        ++views_[b.dataset_indices[i]];
      }
    }
    // Data parallelism: each rank scored its shard of the split; `sum` adds a
    // host float64 tensor over the ranks in place. The per-image sums and view
    // counts are additive, so afterwards every rank holds the whole split's,
    // and an image read on two ranks (shard padding) is one image of two views.
    void sum_over_ranks(auto&& sum) {
      const auto n = static_cast<std::int64_t>(sums_.size());
      const auto l = static_cast<std::int64_t>(task_.landmarks_.size());
      auto flat = torch::zeros({n * (3 * l + 1)}, torch::kFloat64);
      auto* v = flat.data_ptr<double>();
      for (std::int64_t i = 0; i < n; ++i, ++v) {
        for (const auto& s : sums_[static_cast<std::size_t>(i)]) {
          *v++ = s.x;
          *v++ = s.y;
          *v++ = s.confidence;
        }
        *v = views_[static_cast<std::size_t>(i)];
      }
      sum(flat);
      const auto* w = flat.data_ptr<double>();
      for (std::int64_t i = 0; i < n; ++i, ++w) {
        for (auto& s : sums_[static_cast<std::size_t>(i)]) {
          s.x = *w++;
          s.y = *w++;
          s.confidence = *w++;
        }
        views_[static_cast<std::size_t>(i)] = static_cast<int>(std::lround(*w));
      }
    }
    // Images no batch carried keep empty predictions and are not scored.
    landmark_evaluation finish() {
      const auto n = set_.images.size();
      result_.predictions.assign(n, {});
      result_.confidences.assign(n, {});
      for (std::size_t index = 0; index < n; ++index) {
        if (views_[index] == 0) continue;
        const double v = views_[index];
        auto& predicted = result_.predictions[index];
        auto& confidence = result_.confidences[index];
        for (const auto& s : sums_[index]) {
          predicted.push_back({s.x / v, s.y / v});
          confidence.push_back(static_cast<float>(s.confidence / v));
        }
        const auto& record = set_.images[index];
        result_.errors.add(record, predicted);
        if (task_.baseline_) result_.baseline_errors.add(record, task_.baseline_->predict(record));
      }
      const auto s = result_.errors.overall();
      result_.metrics = {s.mre_mm, s.sd_mm, s.sdr[0], s.sdr[1], s.sdr[2], s.sdr[3]};
      result_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
      return std::move(result_);
    }

   private:
    struct sum {
      double x = 0, y = 0, confidence = 0;
    };
    const landmark_heatmaps& task_;
    const data::split& set_;
    std::chrono::steady_clock::time_point started_;
    std::vector<std::vector<sum>> sums_;  // per image, per landmark, over its views
    std::vector<int> views_;
    landmark_evaluation result_;
  };
  evaluator_type evaluator(const data::split& set) const { return evaluator_type(*this, set); }

  [[nodiscard]] nlohmann::json contract() const {
    return {{"symbols", landmarks_.symbols},
            {"normalisation", {{"mean", config.mean}, {"std", config.std_dev}}},
            {"heatmap_stride", stride_},
            {"heatmap_sigma", config.sigma},
            {"decoder", Decoder::name}};
  }

  // The landmark set a checkpoint was trained for (predict needs no dataset).
  static data::landmark_set targets_from_contract(const nlohmann::json& contract) {
    const auto symbols = contract.at("symbols").get<std::vector<std::string>>();
    return {symbols, symbols};
  }

  [[nodiscard]] nlohmann::json describe() const {
    return {{"name", name},
            {"num_landmarks", landmarks_.size()},
            {"landmarks", landmarks_.symbols},
            {"loss", Loss::name},
            {"decoder", Decoder::name},
            {"heatmap_sigma", config.sigma},
            {"normalisation", {{"mean", config.mean}, {"std", config.std_dev}}}};
  }

  [[nodiscard]] const data::landmark_set& landmarks() const { return landmarks_; }
  [[nodiscard]] bool has_baseline() const { return baseline_.has_value(); }

 private:
  data::landmark_set landmarks_;
  int stride_ = 4;
  std::optional<metric::mean_shape_baseline> baseline_;
};

}  // namespace mixtrain::task
