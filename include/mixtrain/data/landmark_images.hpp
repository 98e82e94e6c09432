#pragma once
// What every data source of annotated landmark images shares (core/roles.hpp's
// data-source role, all but reading a split): the input size, the
// augmentations, the sample pipeline (decode, one letterbox warp, augment,
// batch), its preprocessing contract and its --image_size flag. A source
// derives from landmark_images and adds `name` and read_split: data::aariz
// below in aariz.hpp, and recipes/examples/clinic/csv_landmarks.hpp.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <mixtrain/augment/concepts.hpp>
#include <mixtrain/augment/tta.hpp>
#include <mixtrain/core/data_source.hpp>
#include <mixtrain/core/flag_set.hpp>
#include <mixtrain/data/aariz_samples.hpp>
#include <mixtrain/data/annotation.hpp>
#include <mixtrain/data/batch_pipeline.hpp>
#include <mixtrain/data/geometry.hpp>
#include <mixtrain/data/worker_count.hpp>

namespace mixtrain::data {

struct landmark_images_config {
  input_size image_size = {256, 256};
};
using aariz_config = landmark_images_config;

// The pipeline's options for the loop's settings.
inline pipeline_options pipeline_options_for(const pipeline_settings& s, input_size input) {
  pipeline_options o;
  o.input = input;
  o.batch_size = s.batch_size;
  o.num_workers = std::max(1, s.num_workers);
  o.prefetch_batches = s.prefetch_batches;
  o.memory_budget_bytes = s.memory_budget_bytes;
  o.seed = s.seed;
  o.shuffle = s.training;
  o.skip_bad_samples = s.skip_bad_samples;
  o.shard = s.shard;
  o.shards = s.shards;
  return o;
}

// The producer and the worker pool of one split, kept together. The asked
// cache is shrunk to what fits in the budget (logged once); the producer is
// then built again, because it measures its sources (the decode bound) when
// it is built and fixes its cache there.
template <class Augmentations>
class sample_pipeline {
 public:
  // `views`: test-time augmentation's (augment/tta.hpp); empty = none.
  sample_pipeline(const split& set, int num_landmarks, input_size input, const Augmentations& augmentations,
                  const pipeline_settings& s, std::vector<affine> views = {})
      : log_(s.log) {
    samples_.emplace(set, input, augmentations, s.training, s.seed, s.cache_bytes);
    auto o = pipeline_options_for(s, input);
    o.views = std::move(views);
    auto reserve = o;  // --num_workers auto may try this many: keep room for them
    if (s.num_workers == 0) reserve.num_workers = auto_worker_limit();
    const auto fit =
        batch_pipeline::cache_that_fits(reserve, num_landmarks, samples_->transient_bytes_per_sample(), s.cache_bytes);
    if (fit < s.cache_bytes) {
      if (log_)
        *log_ << "decoded-image cache: " << (s.cache_bytes >> 20) << " MiB asked, " << (fit >> 20)
              << " MiB fit in --memory_budget_mb " << (s.memory_budget_bytes >> 20)
              << " (the rest holds the batches and decodes in flight)\n"
              << std::flush;
      samples_.reset();
      samples_.emplace(set, input, augmentations, s.training, s.seed, fit);
    }
    if (s.num_workers == 0) {  // --num_workers auto: measure the real producer, then keep the count
      auto_choice_ = measure_worker_counts(set.images.size(), num_landmarks, o, *samples_, {.log = s.log});
      o.num_workers = auto_choice_.workers;
    }
    pipeline_.emplace(set.images.size(), num_landmarks, o, *samples_);
  }
  sample_pipeline(const sample_pipeline&) = delete;
  sample_pipeline& operator=(const sample_pipeline&) = delete;

  void start_epoch(std::uint64_t epoch, std::int64_t skip) {
    pipeline_->start_epoch(epoch, skip);
    skipped_before_ = pipeline_->stats().skipped;
  }
  // Skipped samples are logged one by one, and counted at the end of the pass.
  std::optional<batch> next() {
    auto b = pipeline_->next();
    if (!log_) return b;
    if (b) {
      for (const auto& message : b->skipped) *log_ << "warning: skipped bad sample: " << message << "\n";
    } else if (const auto skipped = pipeline_->stats().skipped - skipped_before_; skipped > 0) {
      *log_ << "warning: " << skipped << " of " << samples_->size() << " samples skipped as unreadable in this pass ("
            << pipeline_->stats().skipped << " in all; --skip_bad_samples)\n"
            << std::flush;
      skipped_before_ = pipeline_->stats().skipped;
    }
    return b;
  }
  [[nodiscard]] std::int64_t batches_per_epoch() const { return pipeline_->batches_per_epoch(); }
  [[nodiscard]] double wait_seconds() const { return pipeline_->stats().consumer_wait_s; }
  [[nodiscard]] int num_workers() const { return pipeline_->options().num_workers; }
  void stop() { pipeline_->stop(); }

  [[nodiscard]] const aariz_samples<Augmentations>& samples() const { return *samples_; }
  [[nodiscard]] batch_pipeline& pipeline() { return *pipeline_; }
  // The trials of --num_workers auto (empty when the count was given).
  [[nodiscard]] const worker_choice& auto_choice() const { return auto_choice_; }

 private:
  std::ostream* log_ = nullptr;
  std::optional<aariz_samples<Augmentations>> samples_;
  std::optional<batch_pipeline> pipeline_;  // after samples_: destroyed (workers joined) first
  worker_choice auto_choice_;
  std::int64_t skipped_before_ = 0;
};

// What every data source of annotated landmark images shares: the input size,
// the augmentations, the sample pipeline, its contract and its --image_size
// flag. A source adds its name and read_split (see aariz below, and
// recipes/examples for a CSV source built on it).
template <landmark_images_config C, class... Augments>
struct landmark_images {
  static_assert(C.image_size.width > 0 && C.image_size.height > 0 && C.image_size.width % 32 == 0 &&
                    C.image_size.height % 32 == 0,
                "landmark images: image_size must be positive multiples of 32 (the models downsample by 32).");
  static_assert((augment::check_augmentation<Augments>::ok && ...));
  using augmentations_type = augmentation_list<Augments...>;
  using sample_set = split;
  using target_info = landmark_set;
  using batch_type = batch;
  using pipeline_type = sample_pipeline<augmentations_type>;

  landmark_images_config config = C;
  augmentations_type augmentations;
  augment::tta_config tta;  // test-time augmentation of every evaluation (--tta); off by default

  // Evaluation pipelines (validation, evaluate, predict) produce the TTA views.
  std::unique_ptr<pipeline_type> make_pipeline(const split& set, const pipeline_settings& s) const {
    const int landmarks = set.images.empty() ? 0 : static_cast<int>(set.images.front().landmarks.size());
    auto views = s.training ? std::vector<affine>{} : augment::tta_views(tta, config.image_size);
    return std::make_unique<pipeline_type>(set, landmarks, config.image_size, augmentations, s, std::move(views));
  }

  [[nodiscard]] nlohmann::json contract() const {
    return {{"input_size", {config.image_size.width, config.image_size.height}},
            {"geometry", "letterbox: aspect-preserving scale, centred, zero padding"}};
  }
  // What a resumed run must train on: the image count and a hash (FNV-1a,
  // in order) of the ids, not the paths, so a moved dataset still resumes.
  [[nodiscard]] static nlohmann::json identity(const split& set) {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (const auto& image : set.images)
      for (const char ch : image.id + '\n') hash = (hash ^ static_cast<unsigned char>(ch)) * 0x100000001b3ULL;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
    return {{"images", set.images.size()}, {"ids_fnv1a", hex}};
  }

  // predict: the input size comes from the checkpoint.
  void adopt_contract(const nlohmann::json& contract) {
    config.image_size = {contract.at("input_size").at(0).get<int>(), contract.at("input_size").at(1).get<int>()};
  }

  [[nodiscard]] nlohmann::json describe() const {
    nlohmann::json augments = nlohmann::json::array();
    std::apply([&](const auto&... a) { (augments.push_back(a.name), ...); }, augmentations.augments);
    nlohmann::json j = {{"image_size", {config.image_size.width, config.image_size.height}}, {"augmentations", augments}};
    if (tta.enabled()) j["tta"] = tta.describe();
    return j;
  }

  void add_flags(flag_set cli) {
    cli.add_option_function(
           "--image_size", [this](const std::vector<int>& v) { config.image_size = {v[0], v[1]}; },
           "network input W H (multiples of 32)")
        .expected(2)
        .default_str(std::to_string(config.image_size.width) + " " + std::to_string(config.image_size.height))
        .check([](const std::string& v) -> std::string {
          try {
            const int x = std::stoi(v);
            return x > 0 && x % 32 == 0 ? "" : "must be a positive multiple of 32, got " + v;
          } catch (...) {
            return "must be an integer, got '" + v + "'";
          }
        });
    add_tta_flags(cli);
  }

 private:
  // --tta picks a preset; the lists, parsed after it, replace its parts.
  void add_tta_flags(flag_set cli) {
    cli.add_option_function(
           "--tta", [this](const std::string& v) { tta = v == "default" ? augment::tta_config::preset() : augment::tta_config{}; },
           "test-time augmentation of validation, evaluate and predict: 'off', or 'default' (scales 0.95 1.05, "
           "shifts -8 8 input px, rotations -3 3 degrees: 9 views, each mapped back through its own inverse, then "
           "averaged)")
        .check(one_of({"off", "default"}))
        .take_last()
        .default_str("off");
    const auto list = [&](const char* flag, std::vector<double> augment::tta_config::*member, std::string (*check)(double),
                          const char* help) {
      cli.add_option_function(
             flag, [this, member](const std::vector<double>& v) { tta.*member = v; }, help)
          .expected(1, -1)
          .check(
              [check](const std::string& v) -> std::string {
                try {
                  return check(std::stod(v));
                } catch (const std::logic_error&) {
                  return "must be a number, got '" + v + "'";
                }
              },
              "NUMBER");
    };
    list("--tta_scales", &augment::tta_config::scales, augment::check_tta_scale, "TTA zoom factors, one view each");
    list("--tta_shifts", &augment::tta_config::shifts, augment::check_tta_shift,
         "TTA shifts in input pixels; each d gives the views (d, 0) and (0, d)");
    list("--tta_rotations", &augment::tta_config::rotations, augment::check_tta_rotation,
         "TTA rotations in degrees, one view each");
  }
};

}  // namespace mixtrain::data
