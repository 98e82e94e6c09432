// The data pipeline: determinism across worker counts, the memory bound, bad
// data, failures and shutdown, the decoded-image cache, the exactness of
// reduced decoding, and --num_workers auto.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <mixtrain/augment/affine.hpp>
#include <mixtrain/augment/intensity.hpp>
#include <mixtrain/data/aariz_reader.hpp>
#include <mixtrain/data/aariz_samples.hpp>
#include <mixtrain/data/batch_pipeline.hpp>
#include <mixtrain/data/image_file.hpp>
#include <mixtrain/data/synthetic_aariz.hpp>
#include <mixtrain/data/worker_count.hpp>

#include "../support/temporary_directory.hpp"

namespace fs = std::filesystem;
using namespace mixtrain;
using namespace std::chrono_literals;
using mixtrain::testing::temporary_directory;

namespace {

using augmentations = data::augmentation_list<augment::affine<{.rotate_deg = 10, .scale = {0.9, 1.1}, .shift_fraction = 0.05}>,
                                              augment::intensity<{.brightness = 0.1, .contrast = 0.15, .noise_std = 4}>>;

// A small synthetic Aariz tree, read back.
struct small_dataset {
  temporary_directory dir;
  data::landmark_set landmarks;
  data::split train;

  explicit small_dataset(int images = 10) {
    data::synthetic_options options;
    options.train_images = images;
    options.valid_images = 0;
    options.test_images = 0;
    options.min_side = 96;
    options.max_side = 200;
    data::write_synthetic_aariz(dir.path(), options);
    train = data::read_aariz_split(dir.path(), "train", landmarks);
  }
};

data::pipeline_options options_for(int workers, int batch_size = 3) {
  data::pipeline_options o;
  o.input = {64, 64};
  o.batch_size = batch_size;
  o.num_workers = workers;
  o.prefetch_batches = 2;
  o.memory_budget_bytes = std::size_t{256} << 20;
  o.seed = 11;
  return o;
}

std::vector<data::batch> run_epochs(const data::split& split, int landmarks, const data::pipeline_options& o,
                                    std::size_t cache_bytes, int epochs) {
  data::aariz_samples<augmentations> samples(split, o.input, augmentations{}, true, o.seed, cache_bytes);
  data::batch_pipeline pipeline(split.images.size(), landmarks, o, samples);
  std::vector<data::batch> out;
  for (int e = 0; e < epochs; ++e) {
    pipeline.start_epoch(static_cast<std::uint64_t>(e));
    while (auto b = pipeline.next()) out.push_back(std::move(*b));
  }
  return out;
}

// A producer for pipeline mechanics: writes the sample's index everywhere,
// counts concurrent calls, and can sleep or throw on chosen samples.
class fake_producer final : public data::sample_producer {
 public:
  std::size_t transient = 1 << 20;
  std::size_t resident = 0;
  std::chrono::microseconds delay{0};
  std::set<std::size_t> throw_runtime;  // indices that throw std::runtime_error
  std::set<std::size_t> throw_data;     // indices that throw data_error
  std::function<void(std::size_t)> on_produce;
  std::atomic<int> current{0};
  std::atomic<int> most{0};
  std::atomic<int> calls{0};
  data::input_size input{8, 8};
  int landmarks = 2;

  void produce(const data::sample_request& request, const data::sample_slot& slot) override {
    const int now = ++current;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    ++calls;
    if (on_produce) on_produce(request.dataset_index);
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    struct leave {
      std::atomic<int>& c;
      ~leave() { --c; }
    } guard{current};
    if (throw_runtime.count(request.dataset_index)) throw std::runtime_error("worker failure on purpose");
    if (throw_data.count(request.dataset_index))
      throw data::data_error("/nowhere/bad" + std::to_string(request.dataset_index) + ".png", "cannot decode image");
    std::fill(slot.pixels, slot.pixels + input.width * input.height, static_cast<std::uint8_t>(request.dataset_index));
    for (int k = 0; k < landmarks; ++k) {
      slot.landmarks[2 * k] = static_cast<float>(request.dataset_index);
      slot.landmarks[2 * k + 1] = static_cast<float>(request.epoch);
      slot.present[k] = 1;
    }
  }
  [[nodiscard]] std::size_t transient_bytes_per_sample() const override { return transient; }
  [[nodiscard]] std::size_t resident_bytes_limit() const override { return resident; }
};

data::pipeline_options fake_options(int workers, int batch_size = 2, int prefetch = 2) {
  data::pipeline_options o;
  o.input = {8, 8};
  o.batch_size = batch_size;
  o.num_workers = workers;
  o.prefetch_batches = prefetch;
  o.memory_budget_bytes = std::size_t{64} << 20;
  o.shuffle = false;
  return o;
}

// Writes a one-image Aariz tree whose image holds a bright Gaussian blob at
// `centre` (original pixels) and whose single landmark is that point.
fs::path blob_tree(const fs::path& root, const std::string& extension, cv::Size size, data::point centre, double sigma) {
  for (const auto& a : data::aariz_layout::annotators) fs::create_directories(data::aariz_layout::landmarks_dir(root, "train", a));
  fs::create_directories(data::aariz_layout::images_dir(root, "train"));
  std::ofstream(root / data::aariz_layout::mapping_file) << "cephalogram_id,machine,pixel_size,image_format,mode\nblob,m,0.1,x,x\n";
  cv::Mat image(size, CV_8UC1);
  for (int y = 0; y < size.height; ++y)
    for (int x = 0; x < size.width; ++x) {
      const double d2 = (x - centre.x) * (x - centre.x) + (y - centre.y) * (y - centre.y);
      image.at<std::uint8_t>(y, x) = static_cast<std::uint8_t>(std::lround(10 + 240 * std::exp(-d2 / (2 * sigma * sigma))));
    }
  const auto file = data::aariz_layout::images_dir(root, "train") / ("blob" + extension);
  cv::imwrite(file.string(), image, {cv::IMWRITE_JPEG_QUALITY, 100});
  nlohmann::json j = {{"ceph_id", "blob"},
                      {"landmarks", {{{"symbol", "P"}, {"title", "point"}, {"value", {{"x", centre.x}, {"y", centre.y}}}}}}};
  std::ofstream(data::aariz_layout::landmarks_dir(root, "train", data::aariz_layout::annotators[0]) / "blob.json") << j.dump();
  return file;
}

// Intensity-weighted centroid of the pixels above the background.
data::point centroid(const cv::Mat& image) {
  double sum = 0, sx = 0, sy = 0;
  for (int y = 0; y < image.rows; ++y)
    for (int x = 0; x < image.cols; ++x) {
      const double v = std::max(0.0, image.at<std::uint8_t>(y, x) - 30.0);
      sum += v;
      sx += v * x;
      sy += v * y;
    }
  return {sx / sum, sy / sum};
}


// A grayscale PNG written by hand: every row filter type in turn (OpenCV's
// encoder uses only some), stored (uncompressed) deflate blocks, and the
// image data split over several IDAT chunks.
std::vector<std::uint8_t> handmade_png(const cv::Mat& image) {  // CV_8UC1 or CV_16UC1
  const bool deep = image.depth() == CV_16U;
  const std::size_t bpp = deep ? 2 : 1, width = static_cast<std::size_t>(image.cols) * bpp;
  std::vector<std::uint8_t> raw, previous(width, 0), current(width);
  for (int y = 0; y < image.rows; ++y) {
    for (int x = 0; x < image.cols; ++x) {
      if (deep) {
        const auto v = image.at<std::uint16_t>(y, x);
        current[2 * static_cast<std::size_t>(x)] = static_cast<std::uint8_t>(v >> 8);
        current[2 * static_cast<std::size_t>(x) + 1] = static_cast<std::uint8_t>(v & 0xFF);
      } else {
        current[static_cast<std::size_t>(x)] = image.at<std::uint8_t>(y, x);
      }
    }
    const int filter = y % 5;
    raw.push_back(static_cast<std::uint8_t>(filter));
    for (std::size_t x = 0; x < width; ++x) {
      const int a = x >= bpp ? current[x - bpp] : 0, b = y > 0 ? previous[x] : 0, c = x >= bpp && y > 0 ? previous[x - bpp] : 0;
      const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
      const int predictor = filter == 0 ? 0
                            : filter == 1 ? a
                            : filter == 2 ? b
                            : filter == 3 ? (a + b) / 2
                                          : (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      raw.push_back(static_cast<std::uint8_t>(current[x] - predictor));
    }
    previous = current;
  }
  std::vector<std::uint8_t> z = {0x78, 0x01};
  for (std::size_t i = 0; i < raw.size(); i += 65535) {
    const std::size_t n = std::min<std::size_t>(65535, raw.size() - i);
    z.push_back(i + n == raw.size() ? 1 : 0);
    z.push_back(static_cast<std::uint8_t>(n & 0xFF));
    z.push_back(static_cast<std::uint8_t>(n >> 8));
    z.push_back(static_cast<std::uint8_t>(~n & 0xFF));
    z.push_back(static_cast<std::uint8_t>((~n >> 8) & 0xFF));
    z.insert(z.end(), raw.begin() + static_cast<std::ptrdiff_t>(i), raw.begin() + static_cast<std::ptrdiff_t>(i + n));
  }
  std::uint32_t s1 = 1, s2 = 0;
  for (const auto v : raw) {
    s1 = (s1 + v) % 65521;
    s2 = (s2 + s1) % 65521;
  }
  for (int k = 3; k >= 0; --k) z.push_back(static_cast<std::uint8_t>((((s2 << 16) | s1) >> (8 * k)) & 0xFF));

  std::vector<std::uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  auto chunk = [&](const char* type, const std::vector<std::uint8_t>& data) {
    for (int k = 3; k >= 0; --k) png.push_back(static_cast<std::uint8_t>((data.size() >> (8 * k)) & 0xFF));
    const std::size_t start = png.size();
    png.insert(png.end(), type, type + 4);
    png.insert(png.end(), data.begin(), data.end());
    std::uint32_t crc = 0xFFFFFFFFu;
    for (std::size_t i = start; i < png.size(); ++i) {
      crc ^= png[i];
      for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    crc ^= 0xFFFFFFFFu;
    for (int k = 3; k >= 0; --k) png.push_back(static_cast<std::uint8_t>((crc >> (8 * k)) & 0xFF));
  };
  std::vector<std::uint8_t> header(13, 0);
  for (int k = 0; k < 4; ++k) {
    header[static_cast<std::size_t>(k)] = static_cast<std::uint8_t>((image.cols >> (8 * (3 - k))) & 0xFF);
    header[static_cast<std::size_t>(4 + k)] = static_cast<std::uint8_t>((image.rows >> (8 * (3 - k))) & 0xFF);
  }
  header[8] = deep ? 16 : 8;  // bit depth; colour type 0 (gray), no interlace
  chunk("IHDR", header);
  for (std::size_t i = 0; i < z.size(); i += 1000)
    chunk("IDAT", std::vector<std::uint8_t>(z.begin() + static_cast<std::ptrdiff_t>(i),
                                            z.begin() + static_cast<std::ptrdiff_t>(std::min(z.size(), i + 1000))));
  chunk("IEND", {});
  return png;
}
}  // namespace

TEST_CASE("pipeline: batches are identical with 1 and 4 workers, with or without the cache") {
  small_dataset d(10);
  const int l = static_cast<int>(d.landmarks.size());
  // 10 images in batches of 3: the last batch is partial.
  const auto one = run_epochs(d.train, l, options_for(1), 0, 2);
  const auto four = run_epochs(d.train, l, options_for(4), std::size_t{64} << 20, 2);
  REQUIRE(one.size() == 8);
  REQUIRE(four.size() == one.size());
  for (std::size_t i = 0; i < one.size(); ++i) {
    INFO("batch " << i);
    CHECK(one[i].index == four[i].index);
    CHECK(one[i].size == four[i].size);
    CHECK(one[i].dataset_indices == four[i].dataset_indices);
    CHECK(one[i].pixels == four[i].pixels);
    CHECK(one[i].landmarks == four[i].landmarks);
    CHECK(one[i].present == four[i].present);
  }
  CHECK(one[3].size == 1);
  // Another epoch is another order and other augmentations.
  CHECK(one[0].dataset_indices != one[4].dataset_indices);
  std::set<std::size_t> seen;
  for (int i = 0; i < 4; ++i) seen.insert(one[static_cast<std::size_t>(i)].dataset_indices.begin(),
                                          one[static_cast<std::size_t>(i)].dataset_indices.end());
  CHECK(seen.size() == 10);
}

TEST_CASE("pipeline: concurrent samples and queued batches stay within the budget formula") {
  fake_producer producer;
  producer.transient = 10 << 20;
  producer.resident = 5 << 20;
  producer.delay = 2ms;
  auto o = fake_options(8, 2, 3);
  const auto batch_bytes = data::batch_pipeline::plan_for(o, producer.landmarks, producer).batch_bytes;
  // Room for exactly two samples in flight next to the cache and 3 + 1 batches.
  o.memory_budget_bytes = producer.resident + 4 * batch_bytes + 2 * producer.transient + producer.transient / 2;
  std::atomic<std::int64_t> consumed{0};
  std::atomic<std::int64_t> ahead{0};
  producer.on_produce = [&](std::size_t index) {
    const auto distance = static_cast<std::int64_t>(index / 2) - consumed.load();
    std::int64_t seen = ahead.load();
    while (distance > seen && !ahead.compare_exchange_weak(seen, distance)) {
    }
  };
  data::batch_pipeline pipeline(40, producer.landmarks, o, producer);
  CHECK(pipeline.concurrent_decodes() == 2);
  CHECK(pipeline.worker_count() == 2);  // 8 asked, 2 allowed: no idle threads holding memory
  CHECK(pipeline.planned_bytes() <= o.memory_budget_bytes);
  pipeline.start_epoch(0);
  std::int64_t batches = 0;
  while (auto b = pipeline.next()) {
    ++batches;
    std::this_thread::sleep_for(1ms);  // a slow trainer lets the window fill
    consumed = batches;
  }
  CHECK(batches == 20);
  CHECK(producer.most.load() <= 2);
  CHECK(producer.most.load() >= 1);
  const auto stats = pipeline.stats();
  CHECK(stats.peak_decoding <= 2);
  CHECK(stats.peak_queued_batches <= 3);
  CHECK(stats.peak_accounted_bytes <= o.memory_budget_bytes);
  // A worker never works on a batch beyond the window (+1: the trainer's batch
  // leaves the window just before this test's counter moves).
  CHECK(ahead.load() <= 3);

  SECTION("a budget that cannot hold one sample is refused with what to change") {
    auto tiny = fake_options(4);
    tiny.memory_budget_bytes = producer.resident + 3 * batch_bytes + producer.transient - 1;
    REQUIRE_THROWS_WITH(data::batch_pipeline(10, producer.landmarks, tiny, producer),
                        Catch::Contains("--memory_budget_mb") && Catch::Contains("--prefetch_batches"));
  }
}

TEST_CASE("pipeline: the worker count never exceeds what the window can use") {
  fake_producer producer;
  auto o = fake_options(16, 2, 1);  // at most 2 samples can be in flight
  data::batch_pipeline pipeline(10, producer.landmarks, o, producer);
  CHECK(pipeline.worker_count() == 2);
}

TEST_CASE("pipeline: a bad image is an error naming the file; --skip_bad_samples counts it") {
  small_dataset d(6);
  const int l = static_cast<int>(d.landmarks.size());
  // One image truncated, one removed after the split was read.
  const auto& cut = d.train.images[1].image_path;
  {
    const auto size = fs::file_size(cut);
    fs::resize_file(cut, size / 2);
  }
  const auto gone = d.train.images[4].image_path;
  fs::remove(gone);
  auto o = options_for(2, 2);
  o.shuffle = false;

  SECTION("stops with the file's name") {
    data::aariz_samples<augmentations> samples(d.train, o.input, augmentations{}, true, 0, 0);
    data::batch_pipeline pipeline(d.train.images.size(), l, o, samples);
    pipeline.start_epoch(0);
    REQUIRE_THROWS_WITH(
        [&] {
          while (pipeline.next()) {
          }
        }(),
        Catch::Contains(cut.string()) && Catch::Contains("truncated"));
    // The failure sticks: later calls fail the same way instead of hanging.
    REQUIRE_THROWS_AS(pipeline.start_epoch(1), data::data_error);
  }
  SECTION("skips and counts") {
    o.skip_bad_samples = true;
    data::aariz_samples<augmentations> samples(d.train, o.input, augmentations{}, true, 0, 0);
    data::batch_pipeline pipeline(d.train.images.size(), l, o, samples);
    pipeline.start_epoch(0);
    std::vector<std::string> messages;
    int images = 0;
    while (auto b = pipeline.next()) {
      images += b->size;
      messages.insert(messages.end(), b->skipped.begin(), b->skipped.end());
      for (int i = 0; i < b->size; ++i) {
        const auto index = b->dataset_indices[static_cast<std::size_t>(i)];
        if (index == 1 || index == 4)
          for (int k = 0; k < l; ++k) CHECK(b->present[static_cast<std::size_t>(i * l + k)] == 0.0f);
      }
    }
    CHECK(images == 6);
    CHECK(pipeline.stats().skipped == 2);
    REQUIRE(messages.size() == 2);
    CHECK_THAT(messages[0], Catch::Contains(cut.string()));
    CHECK_THAT(messages[1], Catch::Contains(gone.string()) && Catch::Contains("cannot open"));
  }
}

TEST_CASE("pipeline: an exception in a worker reaches next() and nothing deadlocks") {
  fake_producer producer;
  producer.delay = 1ms;
  producer.throw_runtime = {7};
  auto o = fake_options(4);
  o.skip_bad_samples = true;  // only data errors are skippable
  auto pipeline = std::make_unique<data::batch_pipeline>(20, producer.landmarks, o, producer);
  pipeline->start_epoch(0);
  auto drain = std::async(std::launch::async, [&] {
    try {
      while (pipeline->next()) {
      }
      return std::string("no error");
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
  });
  REQUIRE(drain.wait_for(10s) == std::future_status::ready);
  CHECK(drain.get() == "worker failure on purpose");
  CHECK_THROWS_WITH(pipeline->next(), "worker failure on purpose");
  auto destroy = std::async(std::launch::async, [&] { pipeline.reset(); });
  REQUIRE(destroy.wait_for(10s) == std::future_status::ready);

  SECTION("data errors are skipped and counted instead") {
    fake_producer skipping;
    skipping.throw_data = {3, 4};
    data::batch_pipeline p(10, skipping.landmarks, o, skipping);
    p.start_epoch(0);
    int batches = 0;
    while (auto b = p.next()) ++batches;
    CHECK(batches == 5);
    CHECK(p.stats().skipped == 2);
  }
}

TEST_CASE("pipeline: stopping mid-epoch joins every worker promptly") {
  fake_producer producer;
  producer.delay = 20ms;
  auto o = fake_options(4, 2, 2);

  SECTION("destructor while workers are busy") {
    auto pipeline = std::make_unique<data::batch_pipeline>(1000, producer.landmarks, o, producer);
    pipeline->start_epoch(0);
    REQUIRE(pipeline->next());
    std::this_thread::sleep_for(5ms);  // workers are inside produce()
    CHECK(producer.current.load() > 0);
    const auto started = std::chrono::steady_clock::now();
    auto destroy = std::async(std::launch::async, [&] { pipeline.reset(); });
    REQUIRE(destroy.wait_for(10s) == std::future_status::ready);
    CHECK(std::chrono::steady_clock::now() - started < 1s);
    CHECK(producer.current.load() == 0);
    CHECK(producer.calls.load() < 20);  // nothing kept producing
  }
  SECTION("stop() from another thread wakes a waiting next()") {
    producer.delay = 200ms;
    data::batch_pipeline pipeline(1000, producer.landmarks, o, producer);
    pipeline.start_epoch(0);
    auto waiting = std::async(std::launch::async, [&] {
      try {
        while (pipeline.next()) {
        }
        return std::string("ended");
      } catch (const std::exception& e) {
        return std::string(e.what());
      }
    });
    std::this_thread::sleep_for(30ms);
    pipeline.stop();
    REQUIRE(waiting.wait_for(10s) == std::future_status::ready);
    CHECK_THAT(waiting.get(), Catch::Contains("stopped"));
    pipeline.stop();  // twice is fine
  }
  SECTION("a new epoch mid-epoch drops the old one and starts clean") {
    producer.delay = 1ms;
    data::batch_pipeline pipeline(30, producer.landmarks, o, producer);
    pipeline.start_epoch(0);
    REQUIRE(pipeline.next());
    pipeline.start_epoch(1, 2);  // resume epoch 1 at batch 2
    auto b = pipeline.next();
    REQUIRE(b);
    CHECK(b->index == 2);
    CHECK(b->landmarks[1] == 1.0f);  // produced for epoch 1
    CHECK(b->dataset_indices == std::vector<std::size_t>{4, 5});
  }
}

TEST_CASE("pipeline: a cache hit skips the decode and gives the same pixels") {
  small_dataset d(6);
  const int l = static_cast<int>(d.landmarks.size());
  const auto o = options_for(2, 2);
  data::aariz_samples<augmentations> samples(d.train, o.input, augmentations{}, true, o.seed, std::size_t{32} << 20);
  data::batch_pipeline pipeline(d.train.images.size(), l, o, samples);
  pipeline.start_epoch(0);
  while (pipeline.next()) {
  }
  CHECK(samples.timings().snapshot().decodes == 6);
  CHECK(samples.timings().snapshot().cache_hits == 0);
  CHECK(samples.cache().size() == 6);
  pipeline.start_epoch(1);
  while (pipeline.next()) {
  }
  CHECK(samples.timings().snapshot().decodes == 6);
  CHECK(samples.timings().snapshot().cache_hits == 6);

  SECTION("a cache too small for everything keeps what fits and decodes the rest") {
    data::aariz_samples<augmentations> small(d.train, o.input, augmentations{}, true, o.seed, 1);  // 1 byte
    data::batch_pipeline p(d.train.images.size(), l, o, small);
    for (int e = 0; e < 2; ++e) {
      p.start_epoch(static_cast<std::uint64_t>(e));
      while (p.next()) {
      }
    }
    CHECK(small.cache().size() == 0);
    CHECK(small.timings().snapshot().decodes == 12);
  }
}

TEST_CASE("pipeline: reduced decoding maps back to original pixel centres within a tenth of a pixel") {
  temporary_directory dir;
  // Odd sizes: libjpeg rounds the reduced size up, so the width ratio is not the factor.
  const cv::Size size(1001, 803);
  for (const data::point centre : {data::point{980.3, 780.6}, data::point{20.7, 18.2}, data::point{500.0, 400.5}}) {
    const auto file = blob_tree(dir.path() / "jpeg", ".jpg", size, centre, 6.0);
    const auto decoded = data::decode_grayscale(file, 0.3);  // DCT-scaled by 2
    REQUIRE(decoded.reduction == 2);
    REQUIRE(decoded.pixels.cols == 501);
    const auto found = data::apply(decoded.original_from_decoded(), centroid(decoded.pixels));
    INFO("centre " << centre.x << ", " << centre.y << " found " << found.x << ", " << found.y);
    CHECK(std::abs(found.x - centre.x) < 0.1);
    CHECK(std::abs(found.y - centre.y) < 0.1);
  }
}

TEST_CASE("pipeline: a landmark lands on its image feature through decode, halving and the augmented warp") {
  using geometric = data::augmentation_list<augment::affine<{.rotate_deg = 15, .scale = {0.9, 1.1}, .shift_fraction = 0.05}>>;
  for (const std::string extension : {".png", ".jpg", ".bmp"}) {
    temporary_directory dir;
    const data::point centre{700.3, 400.7};
    blob_tree(dir.path(), extension, cv::Size(1003, 801), centre, 24.0);
    data::landmark_set set;
    const auto split = data::read_aariz_split(dir.path(), "train", set);
    data::aariz_samples<geometric> samples(split, {128, 128}, geometric{}, true, 3, 0);
    std::int64_t scale_ns = 0;
    const auto loaded = samples.load(split.images[0], scale_ns);
    CHECK(loaded.pixels.cols <= 2 * 142);  // reduced to within 2x of what 128 px need
    CHECK(loaded.pixels.cols >= 141);
    std::vector<std::uint8_t> pixels(128 * 128);
    float landmark[2];
    float present = 0;
    data::affine transform;
    for (std::uint64_t epoch = 0; epoch < 3; ++epoch) {
      samples.produce({0, epoch}, {pixels.data(), landmark, &present, &transform});
      const auto found = centroid(cv::Mat(128, 128, CV_8UC1, pixels.data()));
      INFO(extension << " epoch " << epoch << ": landmark " << landmark[0] << ", " << landmark[1] << " blob " << found.x
                     << ", " << found.y);
      CHECK(present == 1.0f);
      CHECK(std::abs(found.x - landmark[0]) < 0.1);
      CHECK(std::abs(found.y - landmark[1]) < 0.1);
    }
  }
}

TEST_CASE("pipeline: noise on uint8 is deterministic and has the configured spread") {
  cv::Mat a(256, 256, CV_8UC1, cv::Scalar(128)), b = a.clone(), c = a.clone();
  data::detail::noise_for(5.0).apply(a, 42);
  data::detail::noise_for(5.0).apply(b, 42);
  data::detail::noise_for(5.0).apply(c, 43);
  CHECK(cv::norm(a, b, cv::NORM_INF) == 0);
  CHECK(cv::norm(a, c, cv::NORM_INF) > 0);
  cv::Scalar mean, sd;
  cv::meanStdDev(a, mean, sd);
  CHECK(mean[0] == Approx(128).margin(0.1));
  CHECK(sd[0] == Approx(5.0).margin(0.15));
}

TEST_CASE("pipeline: --num_workers auto measures the producer and picks a count") {
  fake_producer producer;
  producer.delay = 4ms;  // waiting, not computing: more workers help up to the window
  auto o = fake_options(1, 2, 2);
  std::ostringstream log;
  const auto choice = data::measure_worker_counts(100000, producer.landmarks, o, producer,
                                                  {.max_workers = 4, .seconds_per_trial = 0.15, .log = &log});
  REQUIRE(choice.trials.size() >= 2);
  CHECK(choice.trials.front().workers == 1);
  CHECK(choice.workers >= 3);
  CHECK_THAT(log.str(), Catch::Contains("num_workers auto") && Catch::Contains("chose"));
  CHECK(data::choose_num_workers(100000, producer.landmarks, o, producer, {.max_workers = 1, .seconds_per_trial = 0.05}) == 1);
}

TEST_CASE("pipeline: the libdeflate PNG decoder gives OpenCV's pixels, or defers to it") {
  if (!data::detail::deflate_api::get().available()) {
    WARN("libdeflate.so.0 not found: PNGs go through OpenCV here");
    return;
  }
  temporary_directory dir;
  cv::RNG rng(5);
  cv::Mat smooth(97, 131, CV_8UC1);
  cv::randu(smooth, 0, 255);
  cv::GaussianBlur(smooth, smooth, cv::Size(0, 0), 3);  // gives the encoder's filters (sub, up, avg, paeth) work
  cv::Mat noisy(97, 131, CV_8UC1);
  cv::randu(noisy, 0, 255);
  cv::Mat colour, rgba, deep, deep_colour;
  cv::merge(std::vector<cv::Mat>{smooth, noisy, 255 - smooth}, colour);
  cv::cvtColor(colour, rgba, cv::COLOR_BGR2BGRA);
  smooth.convertTo(deep, CV_16U, 257.0, 3);
  colour.convertTo(deep_colour, CV_16U, 250.0);
  int n = 0;
  for (const cv::Mat& image : {smooth, noisy, colour, rgba, deep, deep_colour}) {
    for (int level : {1, 9}) {
      std::vector<std::uint8_t> bytes;
      cv::imencode(".png", image, bytes, {cv::IMWRITE_PNG_COMPRESSION, level});
      cv::Mat fast;
      auto consumed = bytes;  // the decoder joins the compressed data in place
      const auto status = data::detail::decode_png_fast(consumed, fast);
      const bool handled = image.channels() == 1;
      REQUIRE(status == (handled ? data::detail::png_status::decoded : data::detail::png_status::unsupported));
      const auto path = dir.path() / ("x" + std::to_string(n) + "_" + std::to_string(level) + ".png");
      std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
      if (!handled) fast = data::decode_grayscale(path).pixels;  // through OpenCV
      const cv::Mat reference = cv::imdecode(bytes, cv::IMREAD_GRAYSCALE);
      INFO("image " << n << " (" << image.channels() << " channels, depth " << image.depth() << "), level " << level);
      REQUIRE(fast.size() == reference.size());
      CHECK(cv::norm(fast, reference, cv::NORM_INF) == 0);
    }
    ++n;
  }
  SECTION("every row filter, stored blocks and split IDAT chunks, 8 and 16 bits") {
    for (const cv::Mat& image : {noisy, smooth, deep}) {
      auto bytes = handmade_png(image);
      const cv::Mat reference = cv::imdecode(bytes, cv::IMREAD_GRAYSCALE);
      cv::Mat expected;
      if (image.depth() == CV_16U) {  // the high byte
        expected.create(image.size(), CV_8UC1);
        for (int y = 0; y < image.rows; ++y)
          for (int x = 0; x < image.cols; ++x)
            expected.at<std::uint8_t>(y, x) = static_cast<std::uint8_t>(image.at<std::uint16_t>(y, x) >> 8);
      } else {
        expected = image;
      }
      REQUIRE(reference.size() == image.size());
      CHECK(cv::norm(reference, expected, cv::NORM_INF) == 0);  // the hand-made file is a valid PNG
      cv::Mat fast;
      REQUIRE(data::detail::decode_png_fast(bytes, fast) == data::detail::png_status::decoded);
      CHECK(cv::norm(fast, reference, cv::NORM_INF) == 0);
    }
  }
  SECTION("a corrupt stream is an error naming the file") {
    std::vector<std::uint8_t> bytes;
    cv::imencode(".png", noisy, bytes);
    // Damage the compressed data (the first IDAT starts after signature 8 + IHDR 25 bytes).
    for (std::size_t i = 8 + 25 + 8 + 40; i < 8 + 25 + 8 + 80; ++i) bytes[i] ^= 0x5A;
    const auto file = dir.path() / "damaged.png";
    std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    REQUIRE_THROWS_WITH(data::decode_grayscale(file), Catch::Contains(file.string()) && Catch::Contains("corrupt"));
  }
}

TEST_CASE("pipeline: the per-sample memory bound covers the decoder's buffers") {
  temporary_directory dir;
  cv::Mat image(300, 400, CV_8UC3, cv::Scalar(1, 2, 3));
  const auto png = dir.path() / "a.png";
  cv::imwrite(png.string(), image);
  const auto size = static_cast<std::size_t>(fs::file_size(png));
  // File + three-channel rows with filter bytes + gray output.
  CHECK(data::decode_bytes_bound(png) >= size + 300 * 1201 + 120000);
  const auto jpg = dir.path() / "a.jpg";
  cv::imwrite(jpg.string(), image, {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
  const auto header = data::parse_image_header(data::read_file_bytes(jpg));
  CHECK(header.interlaced);
  CHECK(header.channels == 3);
  CHECK(data::decode_bytes_bound(jpg) >= 2 * 3 * 400 * 300);  // every DCT coefficient is kept
}
