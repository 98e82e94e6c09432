// What `inspect` needs from the readers (the two annotators' distance, the
// device, Aariz's official rounding) and the inspect report itself, on
// hand-made and synthetic trees with known values.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <mixtrain/app/inspect.hpp>
#include <mixtrain/data/aariz.hpp>
#include <mixtrain/data/aariz_reader.hpp>
#include <mixtrain/data/isbi2015.hpp>
#include <mixtrain/data/isbi_reader.hpp>
#include <mixtrain/data/synthetic_aariz.hpp>
#include <mixtrain/data/synthetic_isbi.hpp>

#include "../support/data_files.hpp"
#include "../support/temporary_directory.hpp"

namespace fs = std::filesystem;
using namespace mixtrain;
using Catch::Contains;
using mixtrain::testing::temporary_directory;

namespace test_inspect {
namespace {

using mixtrain::testing::junior;
using mixtrain::testing::senior;

nlohmann::json mark(const std::string& symbol, double x, double y) {
  return {{"symbol", symbol}, {"title", symbol}, {"value", {{"x", x}, {"y", y}}}};
}
nlohmann::json unmarked(const std::string& symbol) { return {{"symbol", symbol}, {"title", symbol}, {"value", nullptr}}; }

// One train split: img1 (60x40) with both annotators, img2 (30x50) with the senior only.
struct hand_tree {
  temporary_directory dir;
  fs::path root = dir.path();

  hand_tree() {
    for (const auto& a : data::aariz_layout::annotators) fs::create_directories(data::aariz_layout::landmarks_dir(root, "train", a));
    fs::create_directories(data::aariz_layout::images_dir(root, "train"));
    std::ofstream(root / data::aariz_layout::mapping_file)
        << "cephalogram_id,machine,pixel_size,image_format,mode\nimg1,m1,0.1,png,x\nimg2,m2,0.125,png,x\n";
    cv::imwrite((data::aariz_layout::images_dir(root, "train") / "img1.png").string(), cv::Mat(40, 60, CV_8UC1, cv::Scalar(9)));
    cv::imwrite((data::aariz_layout::images_dir(root, "train") / "img2.png").string(), cv::Mat(50, 30, CV_8UC1, cv::Scalar(9)));
    // A: mean (11.5, 22), a half; B: mean (31, 38), whole; S: mean 10.4, not a half; N: junior left it out.
    write("img1", senior, {mark("A", 10, 20), mark("B", 30, 40), mark("S", 10.2, 5), mark("N", 20, 10)});
    write("img1", junior, {mark("A", 13, 24), mark("B", 32, 36), mark("S", 10.6, 5), unmarked("N")});
    write("img2", senior, {mark("A", 5, 5), mark("B", 6, 6), mark("S", 7, 7), mark("N", 8, 8)});
  }
  void write(const std::string& id, const std::string& annotator, const std::vector<nlohmann::json>& points) const {
    std::ofstream(data::aariz_layout::landmarks_dir(root, "train", annotator) / (id + ".json"))
        << nlohmann::json{{"ceph_id", id}, {"landmarks", points}}.dump();
  }
};

data::split read_hand(const hand_tree& t, data::annotator_merge merge) {
  data::landmark_set set;
  return data::read_aariz_split(t.root, "train", set, {.merge = merge});
}

// The file's path in a split folder, by sorted position.
fs::path nth_file(const fs::path& folder, std::size_t n) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(folder)) files.push_back(e.path());
  std::ranges::sort(files);
  return files.at(n);
}

}  // namespace

TEST_CASE("aariz official_rounded rounds the annotators' mean up to whole pixels, mean keeps it", "[inspect]") {
  hand_tree t;
  const auto mean = read_hand(t, data::annotator_merge::mean);
  const auto official = read_hand(t, data::annotator_merge::official_rounded);
  const auto& m = mean.images[0].landmarks;  // A, B, S, N in the file's order
  const auto& o = official.images[0].landmarks;
  CHECK(m[0].x == 11.5);
  CHECK(o[0].x == 12);  // x.5 goes up
  CHECK(m[0].y == 22);
  CHECK(o[0].y == 22);
  CHECK(m[1].x == 31);
  CHECK(o[1].x == 31);  // whole: unchanged
  CHECK(m[1].y == 38);
  CHECK(o[1].y == 38);
  CHECK(m[2].x == Approx(10.4));
  CHECK(o[2].x == 11);  // up, not to the nearest: the official loader's np.ceil
  CHECK(m[3].x == 20);  // one annotator: that point
  CHECK(o[3].x == 20);
  CHECK(official.images[1].landmarks[0].x == 5);
}

TEST_CASE("aariz reader keeps the annotators' distance per landmark and the device", "[inspect]") {
  hand_tree t;
  const auto split = read_hand(t, data::annotator_merge::mean);
  const auto& d = split.images[0].annotator_distance_px;
  REQUIRE(d.size() == 4);
  CHECK(d[0] == Approx(5));             // (3, 4)
  CHECK(d[1] == Approx(std::sqrt(20.0)));  // (2, -4)
  CHECK(d[2] == Approx(0.4));
  CHECK(std::isnan(d[3]));  // the junior left N out
  CHECK(split.images[1].annotator_distance_px.empty());  // senior only
  CHECK(split.images[0].device == "m1");
  CHECK(split.images[1].device == "m2");
  // The machine column is optional.
  const auto rows = data::detail::parse_machine_mappings("cephalogram_id,pixel_size\nimg1,0.1\n", "m.csv");
  CHECK(rows.at("img1").machine.empty());
  CHECK(rows.at("img1").pixel_size == 0.1);
}

TEST_CASE("data aariz takes the annotator merge from its config and from --annotator_merge", "[inspect]") {
  hand_tree t;
  data::landmark_set set;
  data::aariz<{.annotator_merge = data::annotator_merge::official_rounded}> rounded;
  CHECK(rounded.read_split(t.root, "train", set).images[0].landmarks[0].x == 12);
  CHECK(rounded.describe()["annotator_merge"] == "official_rounded");
  data::aariz<> source;
  CHECK(source.read_split(t.root, "train", set).images[0].landmarks[0].x == 11.5);
  CLI::App cli;
  source.add_flags(cli);
  const char* argv[] = {"recipe", "--annotator_merge", "official_rounded"};
  cli.parse(3, argv);
  CHECK(source.read_split(t.root, "train", set).images[0].landmarks[0].x == 12);
  CLI::App bad;
  source.add_flags(bad);
  const char* wrong[] = {"recipe", "--annotator_merge", "round"};
  CHECK_THROWS_AS(bad.parse(3, wrong), CLI::ValidationError);
}

TEST_CASE("isbi reader keeps the distance between the two doctors", "[inspect]") {
  temporary_directory dir;
  data::write_synthetic_isbi(dir.path(), {.train_images = 2, .valid_images = 1, .test_images = 1, .test2_images = 1});
  data::landmark_set set;
  const auto split = data::read_isbi_split(dir.path(), "train", set);
  for (const auto& image : split.images) {
    REQUIRE(image.annotator_distance_px.size() == 19);
    for (const double d : image.annotator_distance_px) CHECK(d == Approx(std::sqrt(13.0)));  // junior = senior + (3, -2)
    CHECK(image.device.empty());
  }
  const auto senior_only = data::read_isbi_split(dir.path(), "train", set, {.annotators = data::isbi_annotators::senior});
  CHECK(senior_only.images[0].annotator_distance_px.empty());
}

TEST_CASE("inspect gives hand values on a hand-made tree, with a landmark on the image's edge", "[inspect]") {
  hand_tree t;
  // x = W lies outside [0, W) but within the readers' 1 px of slack.
  t.write("img2", senior, {mark("A", 5, 5), mark("B", 6, 6), mark("S", 30, 7), mark("N", 8, 8)});
  data::aariz<> source;
  const auto report = app::inspect_dataset(source, t.root);
  INFO(report.dump(1));
  const auto& train = report["splits"]["train"];
  CHECK(report["splits"]["valid"]["status"] == "absent");
  CHECK(report["splits"]["test"]["status"] == "absent");
  CHECK(report["errors"].empty());
  CHECK(train["outside"]["count"] == 1);
  CHECK(train["outside"]["examples"] == nlohmann::json::array({"img2.png: S (30.0, 7.0) outside 30x50"}));
  CHECK(train["devices"] == nlohmann::json{{"m1", 1}, {"m2", 1}});
  CHECK(train["pixel_sizes_mm"] == nlohmann::json::array({{{"mm", 0.1}, {"images", 1}}, {{"mm", 0.125}, {"images", 1}}}));
  CHECK(train["width"]["median"] == 45.0);  // 30 and 60
  const auto& gap = train["annotator_gap_mm"];
  CHECK(gap["images"] == 1);                                   // img2 has the senior only
  CHECK(gap["per_landmark"]["A"]["mean"].get<double>() == Approx(0.5));  // 5 px at 0.1 mm
  CHECK(gap["per_landmark"]["N"].is_null());                   // the junior left it out
  CHECK(gap["overall"]["count"] == 3);
  CHECK(gap["overall"]["max"].get<double>() == Approx(0.5));
  CHECK_FALSE(train.contains("cvm_stages"));
}

TEST_CASE("inspect counts images, devices, missing landmarks and unreadable files of an Aariz tree", "[inspect]") {
  temporary_directory dir;
  const auto root = dir.path();
  data::synthetic_options options;
  options.train_images = 4;
  options.valid_images = 2;
  options.test_images = 3;
  options.min_side = 120;
  options.max_side = 200;
  data::write_synthetic_aariz(root, options);
  // B left out by both annotators of the first train image: missing once.
  for (const auto& annotator : data::aariz_layout::annotators) {
    const auto file = nth_file(data::aariz_layout::landmarks_dir(root, "train", annotator), 0);
    auto j = nlohmann::json::parse(std::ifstream(file));
    for (auto& l : j["landmarks"])
      if (l["symbol"] == "B") l["value"] = nullptr;
    std::ofstream(file) << j.dump();
  }
  // The first valid image cut in half: its header still reads, its end is gone.
  const auto cut = nth_file(data::aariz_layout::images_dir(root, "valid"), 0);
  fs::resize_file(cut, fs::file_size(cut) / 2);

  data::aariz<> source;
  std::ostringstream log;
  const auto report = app::inspect_dataset(source, root, &log);
  INFO(report.dump(1));
  const auto& splits = report["splits"];
  CHECK(splits["train"]["status"] == "read");
  CHECK(splits["train"]["images"] == 4);
  CHECK(splits["valid"]["images"] == 2);
  CHECK(splits["test"]["images"] == 3);
  CHECK_FALSE(splits.contains("test2"));
  CHECK(splits["train"]["missing"]["B"] == 1);
  CHECK(splits["train"]["missing_total"] == 1);
  CHECK(splits["valid"]["missing_total"] == 0);
  // The image without B has no gap for it; the other 3 have.
  CHECK(splits["train"]["annotator_gap_mm"]["images"] == 4);
  CHECK(splits["train"]["annotator_gap_mm"]["per_landmark"]["B"]["count"] == 3);
  CHECK(splits["train"]["annotator_gap_mm"]["per_landmark"]["A"]["count"] == 4);
  CHECK(report["annotator_gap_mm"]["images"] == 9);
  // Devices cycle through the synthetic machines: train has the first four once each.
  CHECK(splits["train"]["devices"] == nlohmann::json{{"synthetic-A", 1}, {"synthetic-B", 1}, {"synthetic-C", 1}, {"synthetic-D", 1}});
  CHECK(splits["train"]["pixel_sizes_mm"].size() == 4);
  CHECK(splits["train"]["cvm_stages"] == nlohmann::json{{"1", 1}, {"2", 1}, {"3", 1}, {"4", 1}});
  CHECK(splits["train"]["width"]["min"].get<double>() >= 120);
  CHECK(splits["train"]["height"]["max"].get<double>() <= 200);
  CHECK(splits["train"]["outside"]["count"] == 0);
  REQUIRE(report["errors"].size() == 1);
  CHECK(report["errors"][0]["path"] == cut.string());
  CHECK(report["errors"][0]["kind"] == "image");
  CHECK_THAT(report["errors"][0]["message"].get<std::string>(), Contains("truncated"));
  CHECK(splits["valid"]["unreadable_images"] == 1);

  std::ostringstream table;
  app::print_inspection(table, report);
  CHECK_THAT(table.str(), Contains("split valid: 2 images"));
  CHECK_THAT(table.str(), Contains(cut.string()));
  const auto summary = app::inspection_summary(report);
  CHECK_THAT(summary, Contains("train 4, valid 2, test 3 images"));
  CHECK_THAT(summary, Contains("1 landmarks missing"));
  CHECK_THAT(summary, Contains("problems: 1"));
}

TEST_CASE("inspect reports an absent split and a split that fails to read, and goes on", "[inspect]") {
  temporary_directory dir;
  const auto root = dir.path();
  data::synthetic_options options;
  options.train_images = 2;
  options.valid_images = 1;
  options.test_images = 1;
  options.min_side = 120;
  options.max_side = 160;
  data::write_synthetic_aariz(root, options);
  fs::remove_all(root / "valid");
  const auto broken = nth_file(data::aariz_layout::landmarks_dir(root, "test", senior), 0);
  std::ofstream(broken) << "{ not json";

  data::aariz<> source;
  const auto report = app::inspect_dataset(source, root);
  INFO(report.dump(1));
  CHECK(report["splits"]["train"]["images"] == 2);
  CHECK(report["splits"]["valid"]["status"] == "absent");
  CHECK(report["splits"]["test"]["status"] == "failed");
  REQUIRE(report["errors"].size() == 1);
  CHECK(report["errors"][0]["kind"] == "split");
  CHECK(report["errors"][0]["path"] == broken.string());
  CHECK_THAT(app::inspection_summary(report), Contains("valid absent, test failed"));
}

TEST_CASE("inspect gives the ISBI annotator gap in mm for every landmark and reads test2", "[inspect]") {
  temporary_directory dir;
  data::write_synthetic_isbi(dir.path());
  data::isbi2015<> source;
  const auto report = app::inspect_dataset(source, dir.path());
  INFO(report.dump(1));
  const double gap_mm = std::sqrt(13.0) * 0.1;
  CHECK(report["splits"]["test2"]["images"] == 2);
  CHECK(report["landmarks"].size() == 19);
  CHECK(report["errors"].empty());
  const auto& train = report["splits"]["train"];
  CHECK_FALSE(train.contains("devices"));
  CHECK(train["pixel_sizes_mm"] == nlohmann::json::array({{{"mm", 0.1}, {"images", 4}}}));
  for (const auto& symbol : report["landmarks"]) {
    const auto& g = train["annotator_gap_mm"]["per_landmark"][symbol.get<std::string>()];
    CHECK(g["mean"].get<double>() == Approx(gap_mm));
    CHECK(g["max"].get<double>() == Approx(gap_mm));
  }
  CHECK(report["annotator_gap_mm"]["overall"]["mean"].get<double>() == Approx(gap_mm));
  CHECK(report["annotator_gap_mm"]["images"] == 10);
  CHECK_THAT(app::inspection_summary(report), Contains("0.361 mm"));
}

}  // namespace test_inspect
