// The labelme reader, its data source and its synthetic writer: hand-made
// trees with known points, and one test per bad input.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <mixtrain/core/data_source.hpp>
#include <mixtrain/data/labelme.hpp>
#include <mixtrain/data/labelme_reader.hpp>
#include <mixtrain/data/synthetic_labelme.hpp>

#include "../support/temporary_directory.hpp"

namespace fs = std::filesystem;
using namespace mixtrain;
using Catch::Contains;
using json = nlohmann::json;
using mixtrain::testing::temporary_directory;

namespace test_labelme {
namespace {

// [[x, y]] spelled out: nlohmann reads {{"12", 20}} as an object.
json xy(const json& x, const json& y) { return json::array({json::array({x, y})}); }

json shape(const json& label, const json& points, const std::string& type = "point") {
  return {{"label", label}, {"points", points}, {"group_id", nullptr}, {"shape_type", type}, {"flags", json::object()}};
}
json pt(const std::string& label, double x, double y) { return shape(label, xy(x, y)); }

// A hand-made labelme tree: split folders, images and files added per test.
struct labelme_tree {
  temporary_directory dir;
  fs::path root = dir.path();

  labelme_tree() {
    for (const auto* s : {"train", "valid", "test"}) fs::create_directories(root / s);
  }
  void image(const fs::path& relative, int width = 60, int height = 50) const {
    fs::create_directories((root / relative).parent_path());
    cv::imwrite((root / relative).string(), cv::Mat(height, width, CV_8UC1, cv::Scalar(40)));
  }
  [[nodiscard]] fs::path path(const std::string& split, const std::string& name) const { return root / split / (name + ".json"); }
  void text(const std::string& split, const std::string& name, const std::string& content) const {
    std::ofstream(path(split, name), std::ios::binary) << content;
  }
  // A file and its 60x50 image next to it (imagePath "<name>.png").
  void file(const std::string& split, const std::string& name, const json& shapes) const {
    image(fs::path(split) / (name + ".png"));
    text(split, name, json{{"version", "5.4.1"}, {"shapes", shapes}, {"imagePath", name + ".png"}, {"imageData", nullptr},
                           {"imageHeight", 50}, {"imageWidth", 60}}.dump(1));
  }
  void symbols(const std::string& content) const { std::ofstream(root / "symbols.txt") << content; }
};

data::labelme_result read(const labelme_tree& t, const std::string& split_name,
                          data::repeated_labels repeated = data::repeated_labels::average) {
  data::landmark_set set;
  return data::read_labelme_split(t.root, split_name, set, {.repeated = repeated});
}

std::vector<std::string> ids(const data::split& s) {
  std::vector<std::string> out;
  for (const auto& image : s.images) out.push_back(image.id);
  return out;
}

}  // namespace

TEST_CASE("labelme reader: without symbols.txt the set is the sorted union of the train labels", "[labelme]") {
  labelme_tree t;
  t.file("train", "b", json::array({pt("S", 10, 20), pt("N", 30, 5)}));
  t.file("train", "a", json::array({pt("Go", 12.5, 40.25), pt("S", 11, 21)}));
  t.file("valid", "c", json::array({pt("N", 31, 6)}));
  data::landmark_set set;
  const auto train = data::read_labelme_split(t.root, "train", set);
  CHECK(set.symbols == std::vector<std::string>{"Go", "N", "S"});
  CHECK(set.titles == set.symbols);
  REQUIRE(ids(train.data) == std::vector<std::string>{"a", "b"});  // by file name
  const auto& a = train.data.images[0];
  CHECK(a.landmarks[0].x == 12.5);
  CHECK(a.landmarks[0].y == 40.25);
  CHECK(a.landmarks[2].x == 11.0);
  CHECK(a.present == std::vector<std::uint8_t>{1, 0, 1});
  CHECK(a.width == 60);
  CHECK(a.height == 50);
  CHECK(a.pixel_size_mm == 0.1);
  CHECK(a.image_path == t.root / "train" / "a.png");
  // valid and test take the set of train, whichever split is read first.
  data::landmark_set fresh;
  const auto valid = data::read_labelme_split(t.root, "valid", fresh);
  CHECK(fresh.symbols == set.symbols);
  CHECK(valid.data.images[0].present == std::vector<std::uint8_t>{0, 1, 0});
  CHECK(valid.data.images[0].landmarks[1].x == 31.0);
}

TEST_CASE("labelme reader: symbols.txt sets the channel order and labels outside it are counted", "[labelme]") {
  labelme_tree t;
  t.symbols("\xEF\xBB\xBF# channel order\nS\r\n\n N \n");
  t.file("train", "a", json::array({pt("N", 30, 5), pt("Xtra", 1, 1), pt("S", 10, 20)}));
  data::landmark_set set;
  const auto train = data::read_labelme_split(t.root, "train", set);
  CHECK(set.symbols == std::vector<std::string>{"S", "N"});
  CHECK(train.data.images[0].landmarks[0].x == 10.0);
  CHECK(train.data.images[0].landmarks[1].x == 30.0);
  REQUIRE(train.report.unlisted.size() == 1);
  CHECK(train.report.unlisted[0].file == "a.json");
  CHECK(train.report.unlisted[0].what == "Xtra");
  CHECK_THAT(train.report.warning(), Contains("1 file holds labels not in symbols.txt, ignored (a.json: Xtra)"));
  // A checkpoint's other set is refused, naming symbols.txt.
  data::landmark_set other{{"N", "S"}, {"N", "S"}};
  REQUIRE_THROWS_WITH(data::read_labelme_split(t.root, "train", other), Contains("symbols.txt: lists 2 landmarks, other than"));
  t.symbols("S\nN\nS\n");
  REQUIRE_THROWS_WITH(read(t, "train"), Contains("symbols.txt:3: symbol 'S' again (line 1)"));
  t.symbols("# nothing\n\n");
  REQUIRE_THROWS_WITH(read(t, "train"), Contains("symbols.txt: lists no symbols"));
}

TEST_CASE("labelme reader: a repeated label is averaged and counted", "[labelme]") {
  labelme_tree t;
  t.file("train", "a", json::array({pt("S", 10, 20), pt("N", 30, 5), pt("S", 13, 25), pt("S", 11, 21)}));
  t.file("train", "b", json::array({pt("S", 10, 20), pt("N", 30, 5), pt("N", 32, 7)}));
  t.file("train", "c", json::array({pt("S", 10, 20), pt("N", 30, 5)}));
  const auto train = read(t, "train");
  const auto& a = train.data.images[0];  // set: N, S
  CHECK(a.landmarks[1].x == Approx(34.0 / 3).epsilon(1e-12));
  CHECK(a.landmarks[1].y == Approx(22.0).epsilon(1e-12));
  CHECK(train.data.images[1].landmarks[0].x == 31.0);
  CHECK(train.data.images[1].landmarks[0].y == 6.0);
  CHECK(train.data.images[1].present == std::vector<std::uint8_t>{1, 1});
  REQUIRE(train.report.repeated.size() == 2);
  CHECK(train.report.repeated[0].what == "S x3");
  CHECK(train.report.missing.empty());
  CHECK(train.report.warning() ==
        "warning: labelme train (3 files): 2 files repeat a label, averaged (a.json: S x3; b.json: N x2)");
}

TEST_CASE("labelme reader: repeated_labels reject names the file, the label and its shapes", "[labelme]") {
  labelme_tree t;
  t.file("train", "a", json::array({pt("S", 10, 20), pt("N", 30, 5), pt("S", 13, 25)}));
  REQUIRE_THROWS_WITH(read(t, "train", data::repeated_labels::reject),
                      Contains((t.root / "train" / "a.json").string() +
                               ": field 'shapes': label 'S' is marked 2 times (shapes[0], shapes[2])"));
}

TEST_CASE("labelme reader: a missing label gets present 0 and the one warning names every file", "[labelme]") {
  labelme_tree t;
  t.file("train", "a", json::array({pt("S", 10, 20), pt("N", 30, 5), pt("Go", 5, 40)}));
  t.file("train", "b", json::array({pt("S", 10, 20)}));
  t.file("train", "c", json::array({pt("S", 10, 20), pt("S", 12, 20), pt("N", 30, 5),
                                    shape("jaw", json::array({json::array({1, 1}), json::array({5, 5})}), "rectangle")}));
  const auto train = read(t, "train");
  CHECK(train.data.images[1].present == std::vector<std::uint8_t>{0, 0, 1});  // Go, N, S
  CHECK(train.data.images[1].landmarks[0].x == 0.0);
  CHECK(train.data.images[2].present == std::vector<std::uint8_t>{0, 1, 1});
  CHECK(train.report.files == 3);
  CHECK(train.report.warning() ==
        "warning: labelme train (3 files): 1 file repeats a label, averaged (c.json: S x2), 2 files miss labels, "
        "weight 0 (b.json: Go, N; c.json: Go), 1 file holds non-point shapes, ignored (c.json: 1 rectangle)");
  // The source prints it once per split read.
  data::labelme<> source;
  std::ostringstream log;
  source.warnings = &log;
  data::landmark_set set;
  (void)source.read_split(t.root, "train", set);
  CHECK(log.str() == train.report.warning() + "\n");
  // Beyond ten files of a kind the rest are counted.
  for (int i = 0; i < 12; ++i) t.file("valid", "v" + std::to_string(10 + i), json::array({pt("S", 1, 1)}));
  CHECK_THAT(read(t, "valid").report.warning(), Contains("v19.json: Go, N; ... 2 more)"));
  t.file("test", "clean", json::array({pt("S", 1, 1), pt("N", 2, 2), pt("Go", 3, 3)}));
  CHECK(read(t, "test").report.warning().empty());
}

TEST_CASE("labelme reader: imagePath is relative to the JSON folder, absolute, or written with backslashes", "[labelme]") {
  labelme_tree t;
  t.image("train/images/x.png", 80, 70);
  t.image("elsewhere/y.png", 80, 70);
  const auto shapes = json::array({pt("S", 79, 69), pt("N", -0.5, 70.9)});  // within the 1 px slack
  t.text("train", "a", json{{"shapes", shapes}, {"imagePath", "images\\x.png"}}.dump());
  t.text("train", "b", json{{"shapes", shapes}, {"imagePath", "images/x.png"}, {"imageData", nullptr}}.dump());
  t.text("train", "c", json{{"shapes", shapes}, {"imagePath", "../elsewhere/y.png"}}.dump());
  t.text("train", "d", json{{"shapes", shapes}, {"imagePath", (t.root / "train/images/x.png").string()}}.dump());
  const auto train = read(t, "train");
  REQUIRE(train.data.images.size() == 4);
  CHECK(train.data.images[0].image_path == t.root / "train" / "images" / "x.png");
  CHECK(train.data.images[0].width == 80);
  CHECK(fs::equivalent(train.data.images[2].image_path, t.root / "elsewhere" / "y.png"));
  CHECK(train.data.images[3].landmarks[1].x == 79.0);  // set: N, S
  CHECK(train.data.images[3].landmarks[0].y == 70.9);
  // An image's own pixel spacing would win; labelme has none, so the option applies.
  data::landmark_set set;
  CHECK(data::read_labelme_split(t.root, "train", set, {.pixel_size_mm = 0.125}).data.images[0].pixel_size_mm == 0.125);
}

TEST_CASE("labelme bad input: broken JSON and wrong fields name the file and the field", "[labelme]") {
  labelme_tree t;
  t.file("train", "ok", json::array({pt("S", 10, 20)}));
  const auto a = (t.root / "train" / "a.json").string();
  auto with = [&](const json& shapes, const json& extra = json::object()) {
    json j = {{"shapes", shapes}, {"imagePath", "ok.png"}};
    j.update(extra);
    t.text("train", "a", j.dump());
  };
  t.text("train", "a", "{\n\"shapes\": [\n{\"label\": \"S\",, }\n]}");
  REQUIRE_THROWS_WITH(read(t, "train"), Contains(a + ":3: broken JSON"));
  t.text("train", "a", "[1, 2]");
  REQUIRE_THROWS_WITH(read(t, "train"), Contains(a + ": field 'shapes': missing: the file holds a JSON array"));
  with(json::array({pt("S", 10, 20)}));
  t.text("train", "a", json{{"imagePath", "ok.png"}}.dump());
  REQUIRE_THROWS_WITH(read(t, "train"), Contains(a + ": field 'shapes': missing"));
  with(json::array({shape("S", xy("12", 20))}));
  REQUIRE_THROWS_WITH(read(t, "train"), Contains(a + ": field 'shapes[0].points[0][0]': must be a number, found string"));
  with(json::array({pt("S", 1, 2), shape("N", xy(12, nullptr))}));
  REQUIRE_THROWS_WITH(read(t, "train"), Contains(a + ": field 'shapes[1].points[0][1]': must be a number"));
  with(json::array({shape("S", json::array({json::array({1, 2}), json::array({3, 4})}))}));
  REQUIRE_THROWS_WITH(read(t, "train"), Contains(a + ": field 'shapes[0].points': a point shape holds one [x, y] pair, found 2"));
  with(json::array({shape("S", json::array({json::array({1, 2, 3})}))}));
  REQUIRE_THROWS_WITH(read(t, "train"), Contains(a + ": field 'shapes[0].points[0]': must be [x, y]"));
  with(json::array({shape(7, xy(1, 2))}));
  REQUIRE_THROWS_WITH(read(t, "train"), Contains(a + ": field 'shapes[0].label': must be a string, found number"));
  with(json::array({json{{"label", " "}, {"points", xy(1, 2)}}}));  // no shape_type: one point is a point
  REQUIRE_THROWS_WITH(read(t, "train"), Contains(a + ": field 'shapes[0].label': is empty"));
  with(json::array({pt("S", 1, 2)}), {{"imageWidth", "60"}});
  REQUIRE_THROWS_WITH(read(t, "train"), Contains(a + ": field 'imageWidth': must be a positive whole number"));
  with(json::array({pt("S", 1, 2)}), {{"imageHeight", 51}});
  REQUIRE_THROWS_WITH(read(t, "train"), Contains(a + ": field 'imageHeight': 51 but the image") && Contains("is 60x50"));
}

TEST_CASE("labelme bad input: a point outside its image names the file, the shape and the label", "[labelme]") {
  labelme_tree t;
  t.file("train", "a", json::array({pt("S", 10, 20), pt("N", 61.5, 20)}));
  REQUIRE_THROWS_WITH(read(t, "train"), Contains("a.json: field 'shapes[1].points[0]': 'N' at (61.500000, 20.000000) lies "
                                                 "outside the 60x50 image"));
  t.file("train", "a", json::array({pt("S", 10, -1.5)}));
  REQUIRE_THROWS_WITH(read(t, "train"), Contains("a.json: field 'shapes[0].points[0]'"));
}

TEST_CASE("labelme bad input: a missing, embedded or broken image names the file", "[labelme]") {
  labelme_tree t;
  const auto a = (t.root / "train" / "a.json").string();
  t.text("train", "a", json{{"shapes", json::array({pt("S", 1, 2)})}, {"imagePath", "gone.png"}}.dump());
  REQUIRE_THROWS_WITH(read(t, "train"), Contains(a + ": field 'imagePath': image 'gone.png' not found (looked for " +
                                                 (t.root / "train" / "gone.png").string() + ")"));
  t.text("train", "a", json{{"shapes", json::array({pt("S", 1, 2)})}, {"imagePath", "gone.png"}, {"imageData", "iVBORw0K"}}.dump());
  REQUIRE_THROWS_WITH(read(t, "train"), Contains("not found") && Contains("the embedded imageData is not decoded"));
  t.text("train", "a", json{{"shapes", json::array({pt("S", 1, 2)})}, {"imagePath", ""}, {"imageData", "iVBORw0K"}}.dump());
  REQUIRE_THROWS_WITH(read(t, "train"), Contains(a + ": field 'imagePath': missing or empty; the embedded imageData is not decoded"));
  t.text("train", "a", json{{"shapes", json::array({pt("S", 1, 2)})}}.dump());
  REQUIRE_THROWS_WITH(read(t, "train"), Contains(a + ": field 'imagePath': missing or empty"));
  std::ofstream(t.root / "train" / "junk.png") << "not an image at all";
  t.text("train", "a", json{{"shapes", json::array({pt("S", 1, 2)})}, {"imagePath", "junk.png"}}.dump());
  REQUIRE_THROWS_WITH(read(t, "train"), Contains((t.root / "train" / "junk.png").string() + ": "));
}

TEST_CASE("labelme bad input: a label outside the train labels, a missing or empty split", "[labelme]") {
  labelme_tree t;
  t.file("train", "a", json::array({pt("S", 10, 20), pt("N", 3, 4)}));
  t.file("valid", "v", json::array({pt("S", 10, 20), pt("Sx", 3, 4)}));
  REQUIRE_THROWS_WITH(read(t, "valid"), Contains("v.json: field 'shapes[1].label': 'Sx' is not a landmark of this dataset") &&
                                            Contains("symbols.txt"));
  REQUIRE_THROWS_WITH(read(t, "test"), Contains("test: split 'test' holds no labelme .json files"));
  fs::remove_all(t.root / "test");
  REQUIRE_THROWS_WITH(read(t, "test"), Contains("test: missing folder of split 'test'"));
  labelme_tree no_labels;
  no_labels.file("train", "a", json::array());
  REQUIRE_THROWS_WITH(read(no_labels, "train"), Contains("no labelled point shapes"));
  data::landmark_set set;
  REQUIRE_THROWS_WITH(data::read_labelme_split(t.root, "train", set, {.pixel_size_mm = 0}), Contains("pixel size"));
}

TEST_CASE("labelme synthetic tree: reads back with the known points, repeats and misses", "[labelme]") {
  for (const bool symbols_file : {false, true}) {
    temporary_directory dir;
    const auto truth = data::write_synthetic_labelme(
        dir.path(), {.train_images = 5, .valid_images = 3, .test_images = 2, .min_side = 100, .max_side = 180,
                     .symbols_file = symbols_file});
    REQUIRE(truth.size() == 10);
    CHECK(fs::is_regular_file(dir.path() / "train" / "images" / "case003.png"));
    CHECK(fs::is_regular_file(dir.path() / "train" / "case002.jpg"));
    data::landmark_set set;
    const auto train = data::read_labelme_split(dir.path(), "train", set);
    const auto expected = data::synthetic_labelme_symbols();
    if (symbols_file) CHECK(set.symbols == expected.symbols);
    else CHECK(set.symbols == std::vector<std::string>{"A", "ANS", "B", "Go", "Me", "N", "Or", "Po", "Pog", "S"});
    std::size_t index = 0;
    for (const auto* split_name : {"train", "valid", "test"}) {
      const auto read = data::read_labelme_split(dir.path(), split_name, set);
      CHECK(read.report.repeated.size() == 1);
      CHECK(read.report.missing.size() == (std::string(split_name) == "test" ? 0u : 1u));
      for (const auto& image : read.data.images) {
        const auto& t = truth[index++];
        REQUIRE(image.id == t.id);
        CHECK(image.width >= 100);
        CHECK(image.width <= 180);
        for (std::size_t k = 0; k < expected.size(); ++k) {
          const auto channel = static_cast<std::size_t>(std::ranges::find(set.symbols, expected.symbols[k]) - set.symbols.begin());
          CHECK(image.present[channel] == t.present[k]);
          CHECK(image.landmarks[channel].x == t.landmarks[k].x);  // exact: quarter pixels, symmetric repeats
          CHECK(image.landmarks[channel].y == t.landmarks[k].y);
        }
      }
    }
    CHECK(index == truth.size());
  }
}

namespace {
using labelme_source = data::labelme<{.image_size = {128, 96}}>;
using labelme_reject = data::labelme<{.image_size = {64, 64}, .pixel_size_mm = 0.2, .repeated = data::repeated_labels::reject}>;
static_assert(check_data_source<labelme_source>::ok);
static_assert(check_data_source<labelme_reject>::ok);
}  // namespace

TEST_CASE("labelme data source: reads splits, describes itself, takes its flags and writes synth data", "[labelme]") {
  temporary_directory dir;
  labelme_source::write_synthetic(dir.path() / "data", {.train_images = 4, .valid_images = 2, .test_images = 1,
                                                        .min_side = 96, .max_side = 128, .seed = 3});
  CHECK(fs::is_regular_file(dir.path() / "data" / "symbols.txt"));
  labelme_source source;
  std::ostringstream log;
  source.warnings = &log;
  CHECK(labelme_source::name == "labelme");
  data::landmark_set set;
  const auto train = source.read_split(dir.path() / "data", "train", set);
  CHECK(train.images.size() == 4);
  CHECK(set.symbols == data::synthetic_labelme_symbols().symbols);
  CHECK_THAT(log.str(), Contains("warning: labelme train (4 files): 1 file repeats a label, averaged (case001.json: N x2)"));
  CHECK(source.read_split(dir.path() / "data", "test", set).images.size() == 1);
  auto described = source.describe();
  CHECK(described["name"] == "labelme");
  CHECK(described["pixel_size_mm"] == 0.1);
  CHECK(described["repeated_labels"] == "average");

  labelme_reject reject;
  reject.warnings = nullptr;
  CHECK(reject.describe()["pixel_size_mm"] == 0.2);
  data::landmark_set reject_set;
  REQUIRE_THROWS_WITH(reject.read_split(dir.path() / "data", "train", reject_set),
                      Contains("case001.json: field 'shapes': label 'N' is marked 2 times"));

  CLI::App cli;
  source.add_flags(cli);
  const char* argv[] = {"recipe", "--pixel_size_mm", "0.25", "--repeated_labels", "reject"};
  cli.parse(5, argv);
  described = source.describe();
  CHECK(described["pixel_size_mm"] == 0.25);
  CHECK(described["repeated_labels"] == "reject");
  const char* bad[] = {"recipe", "--repeated_labels", "first"};
  CHECK_THROWS_AS(cli.parse(3, bad), CLI::ValidationError);
  const char* negative[] = {"recipe", "--pixel_size_mm", "-1"};
  CHECK_THROWS_AS(cli.parse(3, negative), CLI::ValidationError);
}

}  // namespace test_labelme
