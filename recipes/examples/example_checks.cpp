// Behaviour checks of the examples in clinic/, run as ctest entries named
// example:<check> (recipes/examples/CMakeLists.txt). Each check is a plain
// function returning whether it passed, printing what it measured; the
// trainer is driven directly (mt::trainer<recipe>), so only the core, data
// and task headers are needed, not the command-line app.
//
//   example_checks <check>                    run one check; exit status 0 = passed
//   example_checks --list                     the check names
//   example_checks --write-dataset <folder> [train valid min_side max_side]
//                                             a synthetic dataset in both layouts: Aariz
//                                             folders and <split>.csv (cli_checks.sh,
//                                             tests/e2e/recipes_start.sh)
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <boost/hana.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include <mixtrain/augment/affine.hpp>
#include <mixtrain/core/recipe.hpp>
#include <mixtrain/core/trainer.hpp>
#include <mixtrain/data/aariz.hpp>
#include <mixtrain/data/aariz_reader.hpp>
#include <mixtrain/data/synthetic_aariz.hpp>
#include <mixtrain/model/compact_unet.hpp>
#include <mixtrain/optim/adamw.hpp>
#include <mixtrain/task/landmark_heatmaps.hpp>

#include "clinic/csv_landmarks.hpp"
#include "clinic/freeze_backbone.hpp"
#include "clinic/sine_warp.hpp"
#include "example_check_support.hpp"

namespace mt = mixtrain;

namespace clinic_checks {

// --- 1. the policy ------------------------------------------------------------------------

// A test-local policy: snapshots of every parameter and buffer, at the start
// of the fit and after each epoch (an observer written like any user policy).
struct weight_probe {
  static constexpr std::string_view name = "weight_probe";
  std::vector<std::map<std::string, torch::Tensor>> snapshots;

  void on_fit_begin(auto& ctx) { snapshot(ctx); }
  void on_epoch_end(auto& ctx) { snapshot(ctx); }

 private:
  void snapshot(auto& ctx) {
    std::map<std::string, torch::Tensor> all;
    for (const auto& p : ctx.model->named_parameters(true)) all[p.key()] = p.value().detach().clone();
    for (const auto& b : ctx.model->named_buffers(true)) all["buffer:" + b.key()] = b.value().detach().clone();
    snapshots.push_back(std::move(all));
  }
};

constexpr int frozen_epochs = 2;
using freeze_recipe =
    mt::recipe<mt::model::compact_unet<{.width = 8}>,
               mt::data::aariz<{.image_size = {64, 64}}, mt::augment::affine<{.rotate_deg = 5, .scale = {0.95, 1.05}}>>,
               mt::task::landmark_heatmaps<{.sigma = 1.5}>, mt::optim::adamw<{.lr = 2e-3, .weight_decay = 1e-2}>,
               clinic::freeze_backbone<{.epochs = frozen_epochs, .head = "head"}>, weight_probe,
               mt::fit<{.epochs = 4, .batch_size = 4, .num_workers = 1}>>;

bool freeze_backbone_bit_identical_then_changing() {
  temporary_directory dir;
  write_small_aariz(dir.path() / "data", 12, 4, 96, 160);
  torch::manual_seed(3);
  mt::trainer<freeze_recipe> t;
  t.run.output_dir = dir.path() / "run";
  mt::data::landmark_set targets;
  const auto train = t.data.read_split(dir.path() / "data", "train", targets);
  const auto valid = t.data.read_split(dir.path() / "data", "valid", targets);
  t.build(targets);
  const auto result = t.fit(train, valid);
  EXPECT(result.epochs_run == 4, "ran " << result.epochs_run << " epochs");

  const auto& freeze = boost::hana::at_c<0>(t.policies);
  const auto& snapshots = boost::hana::at_c<1>(t.policies).snapshots;
  EXPECT(snapshots.size() == 5, "snapshots: " << snapshots.size());
  int backbone = 0, head = 0;
  for (const auto& [name, initial] : snapshots.front()) {
    const bool is_head = freeze.in_head(name);
    (is_head ? head : backbone) += 1;
    const bool is_parameter = !name.starts_with("buffer:");
    for (int epoch = 1; epoch <= 4; ++epoch) {
      const auto& now = snapshots[static_cast<std::size_t>(epoch)].at(name);
      const auto& before = snapshots[static_cast<std::size_t>(epoch - 1)].at(name);
      if (!is_head && epoch <= frozen_epochs)  // every backbone tensor, BatchNorm statistics included
        EXPECT(torch::equal(now, initial), name << " changed in frozen epoch " << epoch);
      if (!is_head && epoch > frozen_epochs && is_parameter && name.ends_with("weight"))
        EXPECT(!torch::equal(now, before), name << " did not change in epoch " << epoch << " after unfreezing");
      if (is_head && is_parameter)
        EXPECT(!torch::equal(now, before), name << " (head) did not change in epoch " << epoch);
    }
  }
  EXPECT(head == 2 && backbone > 10, head << " head and " << backbone << " backbone tensors");
  for (const auto& p : t.model()->parameters()) EXPECT(p.requires_grad(), "a parameter is still frozen after the fit");
  std::cout << "backbone: " << backbone << " tensors bit-identical for " << frozen_epochs
            << " epochs, then every weight changing; head: changing every epoch\n";
  return true;
}

// --- 2. the augmentation ----------------------------------------------------------------

// Strong enough to move dots by several pixels, smooth enough that a dot's
// centroid still marks where its centre went (the centroid of a warped dot
// shifts by second-order terms: about 0.05 px here, 0.08 at worst).
using test_warp = clinic::sine_warp<{.amplitude = 0.03, .wavelength = 0.4}>;

bool sine_warp_moves_landmarks_with_the_image() {
  static_assert(mt::augment::general<test_warp> && !mt::augment::geometric<test_warp>);
  static_assert(mt::augment::is_geometric_v<test_warp> && !mt::augment::has_inverse_v<test_warp>);
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> where(12.0, 116.0);
  double worst = 0, moved = 0, unmoved_error = 0, one_step_worst = 0;
  int count = 0;
  for (int trial = 0; trial < 40; ++trial) {
    std::vector<mt::data::point> points;
    while (points.size() < 8) {  // dots apart, so each window holds one
      const mt::data::point p{where(rng), where(rng)};
      if (std::ranges::all_of(points, [&](auto q) { return distance(p, q) > 18; })) points.push_back(p);
    }
    auto image = dots_image(128, 128, points, 1.0);
    auto warped_points = points;
    const test_warp augmentation;
    const auto field = augmentation.sample(rng, image.cols, image.rows);
    test_warp::warp(image, warped_points, field);
    for (std::size_t i = 0; i < points.size(); ++i) {
      worst = std::max(worst, distance(dot_centre(image, warped_points[i], 4), warped_points[i]));
      moved += distance(points[i], warped_points[i]);
      unmoved_error += distance(dot_centre(image, points[i], 4), points[i]);
      // Controls: the unmoved point, and one step q = p - D(p) instead of the fixed point.
      const auto d = field.displacement(points[i].x, points[i].y);
      const mt::data::point one_step{points[i].x - d.x, points[i].y - d.y};
      one_step_worst = std::max(one_step_worst, distance(dot_centre(image, one_step, 4), one_step));
      ++count;
    }
  }
  moved /= count;
  unmoved_error /= count;
  std::cout << count << " moved points on their dots within " << worst << " px; mean displacement " << moved
            << " px; unmoved points would be off by " << unmoved_error << " px on average, one-step inverses by up to "
            << one_step_worst << " px\n";
  EXPECT(moved > 2.0, "the warp hardly moved anything: " << moved << " px");
  EXPECT(unmoved_error > 1.0 && one_step_worst > 0.5, "the check cannot tell right from wrong points");
  EXPECT(worst < 0.2, "a moved point is " << worst << " px from its dot");
  return true;
}

// The warp inside the library's pipeline, after the letterbox and an affine
// augmentation: in each training batch every landmark sits on its dot.
using warp_source = clinic::csv_landmarks<{.image_size = {64, 64}}, mt::augment::affine<{.rotate_deg = 10, .scale = {0.9, 1.1}}>,
                                          test_warp>;

bool sine_warp_keeps_landmarks_on_their_dots_through_the_pipeline() {
  temporary_directory dir;
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::ofstream csv(dir.path() / "train.csv");
  csv << "image,A_x,A_y,B_x,B_y,C_x,C_y,D_x,D_y\n";
  for (int i = 0; i < 8; ++i) {
    const int width = 200, height = 160;  // not square: letterbox padding above and below
    std::vector<mt::data::point> points = {{50 + 20 * u(rng), 50 + 10 * u(rng)}, {140 + 20 * u(rng), 50 + 10 * u(rng)},
                                           {50 + 20 * u(rng), 100 + 10 * u(rng)}, {140 + 20 * u(rng), 100 + 10 * u(rng)}};
    const auto file = "dots" + std::to_string(i) + ".png";
    cv::imwrite((dir.path() / file).string(), dots_image(width, height, points, 3.5));
    csv << file;
    for (const auto& p : points) csv << std::setprecision(17) << "," << p.x << "," << p.y;
    csv << "\n";
  }
  csv.close();
  warp_source source;
  mt::data::landmark_set landmarks;
  const auto set = source.read_split(dir.path(), "train", landmarks);
  mt::pipeline_settings s;
  s.batch_size = 4;
  s.num_workers = 1;
  s.training = true;
  s.seed = 4;
  auto pipeline = source.make_pipeline(set, s);
  double worst = 0;
  int checked = 0;
  for (std::uint64_t epoch = 0; epoch < 3; ++epoch) {
    pipeline->start_epoch(epoch, 0);
    while (auto b = pipeline->next()) {
      for (int i = 0; i < b->size; ++i) {
        const cv::Mat image(b->height, b->width, CV_8UC1, b->pixels.data() + static_cast<std::size_t>(i) * b->height * b->width);
        for (int k = 0; k < b->num_landmarks; ++k) {
          const auto index = static_cast<std::size_t>(i * b->num_landmarks + k);
          if (b->present[index] == 0) continue;
          const mt::data::point p{b->landmarks[2 * index], b->landmarks[2 * index + 1]};
          if (p.x < 4 || p.y < 4 || p.x > b->width - 5 || p.y > b->height - 5) continue;  // dot cut by the border
          worst = std::max(worst, distance(dot_centre(image, p, 3), p));
          ++checked;
        }
      }
    }
  }
  pipeline->stop();
  std::cout << checked << " landmarks in 3 augmented epochs, each within " << worst << " input px of its dot\n";
  EXPECT(checked >= 60, "only " << checked << " landmarks could be checked");
  EXPECT(worst < 0.5, "a landmark is " << worst << " px from its dot");
  return true;
}

// --- 3. the data source -------------------------------------------------------------------

using csv_recipe = mt::recipe<
    mt::model::compact_unet<{.width = 16}>,
    clinic::csv_landmarks<{.image_size = {96, 96}}, mt::augment::affine<{.rotate_deg = 5, .scale = {0.95, 1.05}, .shift_fraction = 0.03}>,
                          clinic::sine_warp<{.amplitude = 0.01, .wavelength = 0.5, .probability = 0.5}>>,
    mt::task::landmark_heatmaps<{.sigma = 1.5}>, mt::optim::adamw<{.lr = 3e-3, .weight_decay = 1e-4}>,
    mt::fit<{.epochs = 40, .batch_size = 8, .num_workers = 1}>>;

static_assert(mt::data_source<clinic::csv_landmarks<>>);

bool csv_source_short_run_beats_mean_shape_baseline() {
  temporary_directory dir;
  const auto root = dir.path() / "data";
  write_small_aariz(root, 64, 12, 160, 240);
  {  // the same records as CSV, read back identically
    mt::data::landmark_set landmarks;
    for (const std::string split : {"train", "valid"}) {
      const auto aariz = mt::data::read_aariz_split(root, split, landmarks);
      write_csv(root, aariz, landmarks);
      mt::data::landmark_set again = landmarks;
      const auto csv = clinic::csv_landmarks<>{}.read_split(root, split, again);
      EXPECT(csv.images.size() == aariz.images.size(), split);
      for (std::size_t i = 0; i < csv.images.size(); ++i) {
        const auto &a = aariz.images[i], &c = csv.images[i];
        EXPECT(std::filesystem::equivalent(a.image_path, c.image_path) && a.width == c.width && a.height == c.height &&
                   a.pixel_size_mm == c.pixel_size_mm && a.present == c.present,
               c.id);
        for (std::size_t k = 0; k < a.landmarks.size(); ++k)
          EXPECT(a.landmarks[k].x == c.landmarks[k].x && a.landmarks[k].y == c.landmarks[k].y, c.id);
      }
    }
  }
  torch::manual_seed(1);
  mt::trainer<csv_recipe> t;
  t.run.output_dir = dir.path() / "run";
  mt::data::landmark_set targets;
  const auto train = t.data.read_split(root, "train", targets);
  const auto valid = t.data.read_split(root, "valid", targets);
  t.build(targets);
  const auto result = t.fit(train, valid);  // fit lets the task take the mean shape of `train`
  EXPECT(result.validation.has_value(), "no validation");
  const double mre = result.validation->errors.overall().mre_mm;
  const double baseline = result.validation->baseline_errors.overall().mre_mm;
  std::cout << "validation MRE " << mre << " mm after " << result.epochs_run << " epochs; mean-shape baseline "
            << baseline << " mm\n";
  EXPECT(result.validation->baseline_errors.overall().count > 0, "no baseline errors");
  EXPECT(mre < baseline, "the model did not beat the mean shape");
  return true;
}

// Each reader error names the CSV file and the line.
bool csv_source_errors_name_file_and_line() {
  temporary_directory dir;
  cv::imwrite((dir.path() / "a.png").string(), cv::Mat(40, 50, CV_8UC1, cv::Scalar(9)));
  struct bad {
    std::string text;
    std::string expected;  // part of the message after "<file>: "
  };
  const std::vector<bad> cases = {
      {"image,S_x,S_y\na.png,1,2\na.png,1,x\n", "line 3: column 'S_y' holds 'x', which is not a number"},
      {"image,S_x,S_y\na.png,1,2\n\na.png,1\n", "line 4: 2 cells, but the header has 3 columns"},
      {"image,S_x,S_y\nmissing.png,1,2\n", "line 2: image 'missing.png' not found"},
      {"image,S_x,S_y\na.png,,2\n", "line 2: landmark 'S' has only one coordinate"},
      {"image,pixel_size_mm,S_x,S_y\na.png,-1,1,2\n", "line 2: pixel_size_mm must be positive"},
      {"file,S_x,S_y\na.png,1,2\n", "line 1 (header): unexpected column 'file'"},
      {"image,S_x\na.png,1\n", "line 1 (header): landmark 'S' needs both columns S_x and S_y"},
      {"image,S_x,S_y\n\"a.png\",1,2\n", "line 2: quoted cells are not supported"},
      {"image,S_x,S_y\n", "no image rows after the header"},
  };
  for (const auto& c : cases) {
    std::ofstream(dir.path() / "train.csv") << c.text;
    mt::data::landmark_set landmarks;
    try {
      (void)clinic::csv_landmarks<>{}.read_split(dir.path(), "train", landmarks);
      EXPECT(false, "no error for: " << c.text);
    } catch (const mt::data::data_error& e) {
      const std::string message = e.what();
      const auto expected = (dir.path() / "train.csv").string() + ": " + c.expected;
      EXPECT(message.starts_with(expected), "message '" << message << "' does not start with '" << expected << "'");
    }
  }
  // A spreadsheet export (byte-order mark, CRLF) reads; splits must name the same landmarks.
  std::ofstream(dir.path() / "train.csv") << "\xEF\xBB\xBFimage,S_x,S_y,N_x,N_y\r\na.png,1,2,3,4\r\n";
  std::ofstream(dir.path() / "valid.csv") << "image,N_x,N_y,Me_x,Me_y\na.png,1,2,3,4\n";
  mt::data::landmark_set landmarks;
  clinic::csv_landmarks<> source;
  const auto train = source.read_split(dir.path(), "train", landmarks);
  EXPECT(train.images.size() == 1 && train.images.front().pixel_size_mm == 0.1 && train.images.front().width == 50 &&
             train.images.front().landmarks[1].y == 4.0 && landmarks.symbols == std::vector<std::string>({"S", "N"}),
         "the spreadsheet export was misread");
  try {
    (void)source.read_split(dir.path(), "valid", landmarks);
    EXPECT(false, "no error for a different landmark set");
  } catch (const mt::data::data_error& e) {
    const auto expected = (dir.path() / "valid.csv").string() +
                          ": line 1 (header): landmark symbols disagree with the dataset's set; missing: S; unexpected: Me";
    EXPECT(std::string(e.what()) == expected, e.what());
  }
  try {
    (void)source.read_split(dir.path(), "test", landmarks);
    EXPECT(false, "no error for a missing split file");
  } catch (const mt::data::data_error& e) {
    EXPECT(std::string(e.what()).find("test.csv: cannot open") != std::string::npos, e.what());
  }
  std::cout << cases.size() + 2 << " malformed files, each reported with its file and line\n";
  return true;
}

}  // namespace clinic_checks

int main(int argc, char** argv) {
  const std::map<std::string, std::function<bool()>> checks = {
      {"freeze_backbone_bit_identical_then_changing", clinic_checks::freeze_backbone_bit_identical_then_changing},
      {"sine_warp_moves_landmarks_with_the_image", clinic_checks::sine_warp_moves_landmarks_with_the_image},
      {"sine_warp_keeps_landmarks_on_their_dots_through_the_pipeline",
       clinic_checks::sine_warp_keeps_landmarks_on_their_dots_through_the_pipeline},
      {"csv_source_short_run_beats_mean_shape_baseline", clinic_checks::csv_source_short_run_beats_mean_shape_baseline},
      {"csv_source_errors_name_file_and_line", clinic_checks::csv_source_errors_name_file_and_line},
  };
  if ((argc == 3 || argc == 7) && std::string(argv[1]) == "--write-dataset") {
    const std::filesystem::path root = argv[2];
    mt::data::synthetic_options o;
    o.train_images = 16;
    o.valid_images = 6;
    o.test_images = 4;
    o.min_side = 160;
    o.max_side = 240;
    if (argc == 7) {  // train and valid counts, smallest and largest side
      o.train_images = std::stoi(argv[3]);
      o.valid_images = std::stoi(argv[4]);
      o.test_images = 0;
      o.min_side = std::stoi(argv[5]);
      o.max_side = std::stoi(argv[6]);
    }
    mt::data::write_synthetic_aariz(root, o);
    mt::data::landmark_set landmarks;
    for (const std::string split : {"train", "valid", "test"})
      if (split != "test" || o.test_images > 0)
        clinic_checks::write_csv(root, mt::data::read_aariz_split(root, split, landmarks), landmarks);
    return 0;
  }
  if (argc == 2 && std::string(argv[1]) == "--list") {
    for (const auto& [name, check] : checks) std::cout << name << "\n";
    return 0;
  }
  if (argc != 2 || !checks.count(argv[1])) {
    std::cerr << "usage: " << argv[0] << " <check> | --list\n";
    return 2;
  }
  torch::set_num_threads(1);
  try {
    const bool passed = checks.at(argv[1])();
    std::cout << (passed ? "PASSED: " : "FAILED: ") << argv[1] << "\n";
    return passed ? 0 : 1;
  } catch (const std::exception& e) {
    std::cout << "FAILED: " << argv[1] << " threw: " << e.what() << "\n";
    return 1;
  }
}
