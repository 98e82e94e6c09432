#pragma once
// Produces network-ready uint8 samples from annotated cephalograms: decode at
// reduced resolution when the source is at least twice what is needed (JPEG:
// in the decoder; other formats: exact 2x2 averaging after decoding), one
// fused warp (letterbox + augmentation) straight into the batch buffer, then
// the intensity lookup table and optional noise in place.
//
// The pixels of a sample depend only on (seed, epoch, dataset index): the
// decoded image is brought to the same resolution whether or not it is then
// kept in the cache, so a cache hit and a fresh decode give identical bytes,
// whatever the worker count or the order in which samples finish.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <mixtrain/augment/concepts.hpp>
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
    if (budget_ == 0) return nullptr;
    std::shared_lock lock(mutex_);
    const auto it = entries_.find(index);
    return it == entries_.end() ? nullptr : it->second;
  }

  // Keeps `value` when it fits the budget; returns whether it was kept.
  bool offer(std::size_t index, entry value) {
    // A view into a larger buffer would keep all of that buffer alive.
    if (value.pixels.datastart != value.pixels.data || value.pixels.dataend != value.pixels.datalimit)
      value.pixels = value.pixels.clone();
    const auto bytes = value.pixels.total() * value.pixels.elemSize();
    std::unique_lock lock(mutex_);
    if (used_ + bytes > budget_ || entries_.count(index)) return false;
    used_ += bytes;
    entries_.emplace(index, std::make_shared<const entry>(std::move(value)));
    return true;
  }

  [[nodiscard]] std::size_t budget() const { return budget_; }
  [[nodiscard]] std::size_t used() const {
    std::shared_lock lock(mutex_);
    return used_;
  }
  [[nodiscard]] std::size_t size() const {
    std::shared_lock lock(mutex_);
    return entries_.size();
  }

 private:
  std::size_t budget_;
  std::size_t used_ = 0;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::size_t, std::shared_ptr<const entry>> entries_;
};

// Per-stage time, summed over samples, for the data benchmark's cost split.
// decode: reading and decoding the file plus the one scale-down (`scale_ns`
// holds that part alone); warp: the fused letterbox + augmentation warp;
// rest: intensity table, noise, landmark mapping and cache bookkeeping.
struct stage_totals {
  std::int64_t decode_ns = 0;
  std::int64_t scale_ns = 0;
  std::int64_t warp_ns = 0;
  std::int64_t rest_ns = 0;
  std::int64_t samples = 0;
  std::int64_t decodes = 0;
  std::int64_t cache_hits = 0;

  friend stage_totals operator-(stage_totals a, const stage_totals& b) {
    a.decode_ns -= b.decode_ns;
    a.scale_ns -= b.scale_ns;
    a.warp_ns -= b.warp_ns;
    a.rest_ns -= b.rest_ns;
    a.samples -= b.samples;
    a.decodes -= b.decodes;
    a.cache_hits -= b.cache_hits;
    return a;
  }
};

struct stage_timings {
  std::atomic<std::int64_t> decode_ns{0};
  std::atomic<std::int64_t> scale_ns{0};
  std::atomic<std::int64_t> warp_ns{0};
  std::atomic<std::int64_t> rest_ns{0};
  std::atomic<std::int64_t> samples{0};
  std::atomic<std::int64_t> decodes{0};
  std::atomic<std::int64_t> cache_hits{0};

  [[nodiscard]] stage_totals snapshot() const {
    return {decode_ns.load(), scale_ns.load(), warp_ns.load(), rest_ns.load(),
            samples.load(),   decodes.load(),  cache_hits.load()};
  }
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


// Augmentations of a recipe, applied per sample (augment/concepts.hpp):
// geometric ones compose into the one warp, then photometric and general ones
// run in recipe order on the warped image (general ones move the points too).
template <class... Augments>
struct augmentation_list {
  static_assert((augment::check_augmentation<Augments>::ok && ...));
  std::tuple<Augments...> augments;

  static constexpr bool has_pixel_stage = ((!augment::geometric<Augments>) || ...);
  static constexpr bool moves_points_after_warp = (augment::general<Augments> || ...);

  [[nodiscard]] double largest_scale() const {
    double scale = 1;
    std::apply([&](const auto&... a) { ((scale = std::max(scale, largest_scale_of(a))), ...); }, augments);
    return scale;
  }

  // The geometric part, composed onto `input_from_letterbox`.
  void sample_geometry(std::mt19937_64& rng, input_size input, affine& input_from_letterbox) const {
    std::apply([&](const auto&... a) { (compose_one(a, rng, input, input_from_letterbox), ...); }, augments);
  }

  // The pixel part: photometric and general augmentations in order.
  void apply_pixels(cv::Mat& image, std::vector<point>& points, std::mt19937_64& rng) const {
    std::apply([&](const auto&... a) { (apply_one(a, image, points, rng), ...); }, augments);
  }

 private:
  template <class A>
  static double largest_scale_of(const A& a) {
    if constexpr (augment::geometric<A>) return a.largest_scale();
    else return 1.0;
  }
  template <class A>
  static void compose_one(const A& a, std::mt19937_64& rng, input_size input, affine& m) {
    if constexpr (augment::geometric<A>) m = compose(a.sample(rng, input), m);
  }
  template <class A>
  static void apply_one(const A& a, cv::Mat& image, std::vector<point>& points, std::mt19937_64& rng) {
    if constexpr (augment::general<A>) a.apply(image, points, rng);
    else if constexpr (augment::photometric<A>) a.apply(image, rng);
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
    std::int64_t scale_ns = 0;
    if (!cached) fresh = load(record, scale_ns);
    const auto& source = cached ? *cached : fresh;
    const auto t1 = clock::now();

    std::mt19937_64 rng(sample_seed(seed_, request.epoch, request.dataset_index));
    affine input_from_letterbox = request.view;  // the identity unless a test-time view
    if (augment_) augmentations_.sample_geometry(rng, input_, input_from_letterbox);
    const affine input_from_original =
        compose(input_from_letterbox, letterbox(source.original_size.width, source.original_size.height, input_));
    cv::Mat out(input_.height, input_.width, CV_8UC1, slot.pixels);
    cv::warpAffine(source.pixels, out, cv::Mat(compose(input_from_original, source.original_from_cached)), out.size(),
                   cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0));
    const auto t2 = clock::now();

    *slot.input_from_original = input_from_original;
    const auto count = record.landmarks.size();
    std::vector<point> points(count);
    for (std::size_t k = 0; k < count; ++k) points[k] = apply(input_from_original, record.landmarks[k]);
    if (augment_ && Augmentations::has_pixel_stage) {
      augmentations_.apply_pixels(out, points, rng);
      if (out.data != slot.pixels) {  // an augmentation assigned a new image: bring it back into the batch
        if (out.rows != input_.height || out.cols != input_.width || out.type() != CV_8UC1)
          throw std::runtime_error("an augmentation changed the image's size or type; it must keep a " +
                                   std::to_string(input_.width) + "x" + std::to_string(input_.height) + " uint8 image");
        out.copyTo(cv::Mat(input_.height, input_.width, CV_8UC1, slot.pixels));
      }
    }
    for (std::size_t k = 0; k < count; ++k) {
      const auto p = points[k];
      slot.landmarks[2 * k] = static_cast<float>(p.x);
      slot.landmarks[2 * k + 1] = static_cast<float>(p.y);
      const bool inside = p.x >= -0.5 && p.y >= -0.5 && p.x <= input_.width - 0.5 && p.y <= input_.height - 0.5;
      slot.present[k] = (record.present[k] && (inside || !augment_)) ? 1.0f : 0.0f;
    }
    if (slot.image_label) *slot.image_label = record.cvm_stage;
    if (!cached && cache_.budget() > 0) cache_.offer(request.dataset_index, std::move(fresh));
    const auto t3 = clock::now();
    auto ns = [](auto d) { return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(); };
    timings_.decode_ns += ns(t1 - t0);
    timings_.scale_ns += scale_ns;
    timings_.warp_ns += ns(t2 - t1);
    timings_.rest_ns += ns(t3 - t2);
    timings_.samples += 1;
    (cached ? timings_.cache_hits : timings_.decodes) += 1;
  }

  [[nodiscard]] std::size_t transient_bytes_per_sample() const override { return transient_bytes_; }
  [[nodiscard]] std::size_t resident_bytes_limit() const override { return cache_.budget(); }
  [[nodiscard]] const stage_timings& timings() const { return timings_; }
  [[nodiscard]] const image_cache& cache() const { return cache_; }
  [[nodiscard]] std::size_t size() const { return images_.images.size(); }

  // Decodes one image at the coarsest power-of-two resolution that still
  // covers the input at the largest augmentation zoom: a JPEG through DCT
  // scaling, other formats by exact 2x2 averaging after a full decode. The
  // warp then reduces by less than 2 more. Public for tests.
  image_cache::entry load(const annotated_image& record, std::int64_t& scale_ns) const {
    auto decoded = decode_grayscale(record.image_path, needed_scale(record));
    image_cache::entry entry;
    entry.original_size = decoded.original_size;
    const double target = letterbox_scale(entry.original_size.width, entry.original_size.height, input_) * largest_scale_;
    const double needed_width = std::ceil(entry.original_size.width * target - 1e-9);
    const double needed_height = std::ceil(entry.original_size.height * target - 1e-9);
    const auto started = std::chrono::steady_clock::now();
    bool halved = false;
    while (decoded.pixels.cols / 2 >= needed_width && decoded.pixels.rows / 2 >= needed_height) {
      // An odd last row or column is dropped so every output pixel averages
      // exactly 2x2 input pixels: x_in + 0.5 = 2 (x_out + 0.5), per axis.
      const cv::Mat even = decoded.pixels(cv::Rect(0, 0, decoded.pixels.cols / 2 * 2, decoded.pixels.rows / 2 * 2));
      cv::Mat half;
      cv::resize(even, half, cv::Size(even.cols / 2, even.rows / 2), 0, 0, cv::INTER_AREA);
      decoded.pixels = std::move(half);
      decoded.scale_x *= 2;
      decoded.scale_y *= 2;
      halved = true;
    }
    if (halved)
      scale_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started).count();
    entry.original_from_cached = decoded.original_from_decoded();
    entry.pixels = std::move(decoded.pixels);
    return entry;
  }

 private:
  [[nodiscard]] double needed_scale(const annotated_image& record) const {
    if (record.width <= 0 || record.height <= 0) return 0;
    return letterbox_scale(record.width, record.height, input_) * largest_scale_;
  }

  // Headers bound what one sample holds while it is produced: the decode
  // (file bytes, decoder buffers, output, halves; image_file.hpp) and the
  // small per-sample state. The warp writes straight into the batch.
  void measure_sources() {
    std::size_t largest = 0;
    for (const auto& record : images_.images)
      largest = std::max(largest, decode_bytes_bound(record.image_path));  // 0 if missing: reported when produced
    const auto input_bytes = static_cast<std::size_t>(input_.width) * static_cast<std::size_t>(input_.height);
    transient_bytes_ = std::max(largest, 4 * input_bytes);
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
