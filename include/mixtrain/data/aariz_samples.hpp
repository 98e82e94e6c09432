#pragma once
// Produces network-ready uint8 samples from annotated cephalograms: decode (at
// reduced resolution when the source is at least twice what is needed), one
// fused warp (letterbox + augmentation) straight into the batch buffer, then
// the intensity lookup table and optional noise in place.
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <mixtrain/augment/intensity.hpp>
#include <mixtrain/data/annotation.hpp>
#include <mixtrain/data/batch_pipeline.hpp>
#include <mixtrain/data/geometry.hpp>
#include <mixtrain/data/image_file.hpp>

namespace mixtrain::data {

// Byte-budgeted store of decoded images, pre-scaled to what the network needs;
// filled first come, first kept, so later epochs skip decoding without churn.
class image_cache {
 public:
  struct entry {
    cv::Mat pixels;
    affine original_from_cached;
    cv::Size original_size;
  };

  explicit image_cache(std::size_t budget_bytes) : budget_(budget_bytes) {}

  [[nodiscard]] std::shared_ptr<const entry> find(std::size_t index) const {
    std::shared_lock lock(mutex_);
    const auto it = entries_.find(index);
    return it == entries_.end() ? nullptr : it->second;
  }

  void offer(std::size_t index, entry value) {
    const auto bytes = value.pixels.total() * value.pixels.elemSize();
    std::unique_lock lock(mutex_);
    if (used_ + bytes > budget_ || entries_.count(index)) return;
    used_ += bytes;
    entries_.emplace(index, std::make_shared<const entry>(std::move(value)));
  }

  [[nodiscard]] std::size_t budget() const { return budget_; }
  [[nodiscard]] std::size_t used() const {
    std::shared_lock lock(mutex_);
    return used_;
  }

 private:
  std::size_t budget_;
  std::size_t used_ = 0;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::size_t, std::shared_ptr<const entry>> entries_;
};

// Per-stage time, summed over samples, for the data benchmark's cost split.
struct stage_timings {
  std::atomic<std::int64_t> decode_ns{0};
  std::atomic<std::int64_t> warp_ns{0};
  std::atomic<std::int64_t> rest_ns{0};
};

// Splits (seed, epoch, sample) into an independent random stream, so an
// augmentation never depends on worker count or timing.
inline std::uint64_t sample_seed(std::uint64_t seed, std::uint64_t epoch, std::size_t index) {
  auto mix = [](std::uint64_t z) {
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  };
  return mix(mix(mix(seed) ^ epoch) ^ index);
}

// Augmentations of a recipe, applied per sample; `Augments` are
// augment::affine / augment::intensity style types.
template <class... Augments>
struct augmentation_list {
  std::tuple<Augments...> augments;

  [[nodiscard]] double largest_scale() const {
    double scale = 1;
    std::apply([&](const auto&... a) { ((scale = std::max(scale, largest_scale_of(a))), ...); }, augments);
    return scale;
  }

  void sample(std::mt19937_64& rng, input_size input, affine& input_from_letterbox, augment::lookup_table& table,
              double& noise_std) const {
    std::apply([&](const auto&... a) { (apply_one(a, rng, input, input_from_letterbox, table, noise_std), ...); }, augments);
  }

 private:
  template <class A>
  static double largest_scale_of(const A& a) {
    if constexpr (A::is_geometric) return a.largest_scale();
    else return 1.0;
  }
  template <class A>
  static void apply_one(const A& a, std::mt19937_64& rng, input_size input, affine& m, augment::lookup_table& table,
                        double& noise_std) {
    if constexpr (A::is_geometric) m = compose(a.sample(rng, input), m);
    else a.sample(rng, table, noise_std);
  }
};

template <class Augmentations>
class aariz_samples final : public sample_producer {
 public:
  // `augment` false: evaluation, the plain letterbox only.
  aariz_samples(const split& images, input_size input, const Augmentations& augmentations, bool augment,
                std::uint64_t seed, std::size_t cache_bytes)
      : images_(images), input_(input), augmentations_(augmentations), augment_(augment), seed_(seed),
        cache_(cache_bytes), largest_scale_(augment ? augmentations.largest_scale() : 1.0) {
    measure_sources();
  }

  void produce(const sample_request& request, const sample_slot& slot) override {
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    const auto& record = images_.images.at(request.dataset_index);
    auto cached = cache_.find(request.dataset_index);
    image_cache::entry fresh;
    if (!cached) {
      fresh = load(record);
    }
    const auto& source = cached ? *cached : fresh;
    const auto t1 = clock::now();

    std::mt19937_64 rng(sample_seed(seed_, request.epoch, request.dataset_index));
    affine input_from_letterbox(1, 0, 0, 0, 1, 0);
    augment::lookup_table table;
    for (int v = 0; v < 256; ++v) table[static_cast<std::size_t>(v)] = static_cast<std::uint8_t>(v);
    double noise_std = 0;
    if (augment_) augmentations_.sample(rng, input_, input_from_letterbox, table, noise_std);
    const affine input_from_original =
        compose(input_from_letterbox, letterbox(source.original_size.width, source.original_size.height, input_));
    cv::Mat out(input_.height, input_.width, CV_8UC1, slot.pixels);
    cv::warpAffine(source.pixels, out, cv::Mat(compose(input_from_original, source.original_from_cached)), out.size(),
                   cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0));
    const auto t2 = clock::now();

    if (augment_) {
      cv::LUT(out, cv::Mat(1, 256, CV_8UC1, table.data()), out);
      if (noise_std > 0) add_noise(out, rng, noise_std);
    }
    *slot.input_from_original = input_from_original;
    const auto count = record.landmarks.size();
    for (std::size_t k = 0; k < count; ++k) {
      const auto p = apply(input_from_original, record.landmarks[k]);
      slot.landmarks[2 * k] = static_cast<float>(p.x);
      slot.landmarks[2 * k + 1] = static_cast<float>(p.y);
      const bool inside = p.x >= -0.5 && p.y >= -0.5 && p.x <= input_.width - 0.5 && p.y <= input_.height - 0.5;
      slot.present[k] = (record.present[k] && (inside || !augment_)) ? 1.0f : 0.0f;
    }
    if (!cached && cache_.budget() > 0) cache_.offer(request.dataset_index, std::move(fresh));
    const auto t3 = clock::now();
    timings_.decode_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
    timings_.warp_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(t2 - t1).count();
    timings_.rest_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(t3 - t2).count();
  }

  [[nodiscard]] std::size_t transient_bytes_per_sample() const override { return transient_bytes_; }
  [[nodiscard]] std::size_t resident_bytes_limit() const override { return cache_.budget(); }
  [[nodiscard]] const stage_timings& timings() const { return timings_; }
  [[nodiscard]] const image_cache& cache() const { return cache_; }

 private:
  // Decodes one image at the coarsest resolution that still covers the input
  // at the largest augmentation zoom; for the cache it is scaled down to that.
  image_cache::entry load(const annotated_image& record) const {
    auto decoded = decode_grayscale(record.image_path, needed_scale(record));
    image_cache::entry entry;
    entry.original_size = decoded.original_size;
    entry.original_from_cached = reduced_to_original(decoded.reduction);
    entry.pixels = std::move(decoded.pixels);
    if (cache_.budget() > 0) {
      const double target = letterbox_scale(entry.original_size.width, entry.original_size.height, input_) * largest_scale_;
      const double factor = target * decoded.reduction;  // cached pixels per decoded pixel
      if (factor < 0.8) {
        cv::Mat smaller;
        cv::resize(entry.pixels, smaller, cv::Size(), factor, factor, cv::INTER_AREA);
        const double exact = static_cast<double>(entry.original_size.width) / smaller.cols;
        entry.original_from_cached = reduced_to_original(exact);
        entry.pixels = std::move(smaller);
      }
    }
    return entry;
  }

  [[nodiscard]] double needed_scale(const annotated_image& record) const {
    if (record.width <= 0 || record.height <= 0) return 0;
    return letterbox_scale(record.width, record.height, input_) * largest_scale_;
  }

  // Header sizes bound what one decode holds: the file bytes plus the decoded
  // pixels (a reduced decode of a non-JPEG still materialises the original).
  void measure_sources() {
    std::size_t largest = 0;
    for (const auto& record : images_.images) {
      std::error_code ec;
      const auto file_bytes = std::filesystem::file_size(record.image_path, ec);
      if (ec) continue;  // reported, with the file's name, when the sample is produced
      const auto decoded = static_cast<std::size_t>(record.width) * static_cast<std::size_t>(record.height);
      largest = std::max<std::size_t>(largest, static_cast<std::size_t>(file_bytes) + 2 * decoded);
    }
    const auto input_bytes = static_cast<std::size_t>(input_.width) * static_cast<std::size_t>(input_.height);
    transient_bytes_ = std::max(largest, 4 * input_bytes);
  }

  static void add_noise(cv::Mat& image, std::mt19937_64& rng, double std_dev) {
    std::normal_distribution<float> n(0.0f, static_cast<float>(std_dev));
    for (int r = 0; r < image.rows; ++r) {
      auto* row = image.ptr<std::uint8_t>(r);
      for (int c = 0; c < image.cols; ++c)
        row[c] = static_cast<std::uint8_t>(std::clamp(static_cast<int>(std::lround(row[c] + n(rng))), 0, 255));
    }
  }

  const split& images_;
  input_size input_;
  Augmentations augmentations_;
  bool augment_;
  std::uint64_t seed_;
  image_cache cache_;
  double largest_scale_;
  std::size_t transient_bytes_ = 0;
  stage_timings timings_;
};

}  // namespace mixtrain::data
