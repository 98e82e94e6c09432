#pragma once
// Shared by the data-pipeline tests: a small synthetic dataset, a fake sample
// producer for pipeline mechanics, and images with a blob at a known point.
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <mixtrain/augment/affine.hpp>
#include <mixtrain/augment/intensity.hpp>
#include <mixtrain/data/aariz_reader.hpp>
#include <mixtrain/data/aariz_samples.hpp>
#include <mixtrain/data/batch_pipeline.hpp>
#include <mixtrain/data/synthetic_aariz.hpp>

#include "../support/temporary_directory.hpp"
#include "../support/watchdog.hpp"

namespace mixtrain::testing::pipeline {

namespace fs = std::filesystem;
using mixtrain::testing::temporary_directory;


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

inline data::pipeline_options options_for(int workers, int batch_size = 3) {
  data::pipeline_options o;
  o.input = {64, 64};
  o.batch_size = batch_size;
  o.num_workers = workers;
  o.prefetch_batches = 2;
  o.memory_budget_bytes = std::size_t{256} << 20;
  o.seed = 11;
  return o;
}

// Every batch of `epochs` epochs, in order; the pipeline's whole life runs
// under the watchdog, so a deadlock (in next() or in the destructor) fails.
inline std::vector<data::batch> run_epochs(const data::split& split, int landmarks, const data::pipeline_options& o,
                                           std::size_t cache_bytes, int epochs) {
  return finishes_within(hang_bound, "running and destroying a pipeline", [&] {
    data::aariz_samples<augmentations> samples(split, o.input, augmentations{}, true, o.seed, cache_bytes);
    data::batch_pipeline pipeline(split.images.size(), landmarks, o, samples);
    std::vector<data::batch> out;
    for (int e = 0; e < epochs; ++e) {
      pipeline.start_epoch(static_cast<std::uint64_t>(e));
      while (auto b = pipeline.next()) out.push_back(std::move(*b));
    }
    return out;
  });
}

// A producer for pipeline mechanics: writes the sample's index everywhere,
// counts concurrent calls, and can sleep or throw on chosen samples.
class fake_producer final : public data::sample_producer {
 public:
  std::size_t transient = 1 << 20;
  std::size_t resident = 0;
  std::chrono::microseconds delay{0};
  std::set<std::size_t> throw_runtime;  // indices that throw std::runtime_error
  std::set<std::size_t> throw_other;    // indices that throw an int: not a std::exception
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
    if (throw_other.count(request.dataset_index)) throw 42;
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

inline data::pipeline_options fake_options(int workers, int batch_size = 2, int prefetch = 2) {
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
inline fs::path blob_tree(const fs::path& root, const std::string& extension, cv::Size size, data::point centre, double sigma) {
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
inline data::point centroid(const cv::Mat& image) {
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

}  // namespace mixtrain::testing::pipeline
