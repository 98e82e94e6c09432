// The ISBI 2015 reader, its data source and its synthetic writer: hand-made
// trees with known points, and one test per bad input.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <mixtrain/core/data_source.hpp>
#include <mixtrain/data/isbi2015.hpp>
#include <mixtrain/data/isbi_reader.hpp>
#include <mixtrain/data/synthetic_isbi.hpp>

#include "../support/temporary_directory.hpp"

namespace fs = std::filesystem;
using namespace mixtrain;
using Catch::Contains;
using mixtrain::testing::temporary_directory;

namespace test_isbi {
namespace {

// 19 "x,y" lines by hand; tests change single lines.
std::vector<std::string> base_lines() {
  return {"10,20", "11,21", "12,22", "13,23", "14,24", "15,25", "16,26", "17,27", "18,28", "19,29",
          "20,30", "21,31", "22,32", "23,33", "24,34", "25,35", "26,36", "27,37", "28,38"};
}

std::string joined(const std::vector<std::string>& lines, const std::string& eol = "\n") {
  std::string text;
  for (const auto& line : lines) text += line + eol;
  return text;
}

// A hand-made ISBI tree: empty folders, images and files added per test.
struct isbi_tree {
  temporary_directory dir;
  fs::path root = dir.path();

  isbi_tree() {
    for (const auto* folder : {"TrainingData", "Test1Data", "Test2Data"}) fs::create_directories(root / "RawImage" / folder);
    for (const auto* annotator : {"400_senior", "400_junior"}) fs::create_directories(root / "AnnotationsByMD" / annotator);
  }
  [[nodiscard]] fs::path image_path(const std::string& folder, const std::string& id) const {
    return root / "RawImage" / folder / (id + ".bmp");
  }
  void image(const std::string& folder, const std::string& id, int width = 60, int height = 50) const {
    cv::imwrite(image_path(folder, id).string(), cv::Mat(height, width, CV_8UC1, cv::Scalar(40)));
  }
  [[nodiscard]] fs::path annotation_path(const std::string& annotator, const std::string& id) const {
    return root / "AnnotationsByMD" / annotator / (id + ".txt");
  }
  void annotation(const std::string& annotator, const std::string& id, const std::string& text) const {
    std::ofstream(annotation_path(annotator, id), std::ios::binary) << text;
  }
  // An image with identical senior and junior files of the base points.
  void plain(const std::string& folder, const std::string& id) const {
    image(folder, id);
    annotation("400_senior", id, joined(base_lines()));
    annotation("400_junior", id, joined(base_lines()));
  }
};

data::split read(const isbi_tree& t, const std::string& split_name,
                 data::isbi_annotators annotators = data::isbi_annotators::mean) {
  data::landmark_set set;
  return data::read_isbi_split(t.root, split_name, set, {.annotators = annotators});
}

std::vector<std::string> ids(const data::split& s) {
  std::vector<std::string> out;
  for (const auto& image : s.images) out.push_back(image.id);
  return out;
}

}  // namespace

TEST_CASE("isbi reader: ground truth is the unrounded mean of senior and junior", "[isbi]") {
  isbi_tree t;
  t.image("TrainingData", "001");
  auto senior = base_lines(), junior = base_lines();
  senior[0] = "10,20";
  junior[0] = "13,25";
  senior[18] = "28,38";
  junior[18] = "29,38";
  t.annotation("400_senior", "001", joined(senior));
  t.annotation("400_junior", "001", joined(junior));
  t.plain("TrainingData", "002");
  data::landmark_set set;
  const auto train = data::read_isbi_split(t.root, "train", set);
  REQUIRE(ids(train) == std::vector<std::string>{"001", "002"});
  const auto& first = train.images[0];
  REQUIRE(first.landmarks.size() == 19);
  CHECK(first.landmarks[0].x == 11.5);
  CHECK(first.landmarks[0].y == 22.5);
  CHECK(first.landmarks[18].x == 28.5);
  CHECK(first.landmarks[18].y == 38.0);
  CHECK(first.landmarks[5].x == 15.0);  // both doctors agree
  CHECK(first.landmarks[5].y == 25.0);
  CHECK(first.present == std::vector<std::uint8_t>(19, 1));
  CHECK(first.width == 60);
  CHECK(first.height == 50);
  CHECK(first.pixel_size_mm == 0.1);
  CHECK(first.image_path == t.image_path("TrainingData", "001"));
  CHECK(first.cvm_stage == -1);
}

TEST_CASE("isbi reader: the senior option takes the senior points and needs no junior folder", "[isbi]") {
  isbi_tree t;
  t.image("TrainingData", "001");
  auto senior = base_lines(), junior = base_lines();
  junior[0] = "13,25";
  senior[7] = "30,40";
  t.annotation("400_senior", "001", joined(senior));
  t.annotation("400_junior", "001", joined(junior));
  const auto split = read(t, "train", data::isbi_annotators::senior);
  REQUIRE(split.images.size() == 1);
  CHECK(split.images[0].landmarks[0].x == 10.0);
  CHECK(split.images[0].landmarks[0].y == 20.0);
  CHECK(split.images[0].landmarks[7].x == 30.0);
  CHECK(split.images[0].landmarks[7].y == 40.0);
  fs::remove_all(t.root / "AnnotationsByMD" / "400_junior");
  CHECK(read(t, "train", data::isbi_annotators::senior).images[0].landmarks[0].x == 10.0);
  REQUIRE_THROWS_WITH(read(t, "train"), Contains("400_junior") && Contains("missing annotation folder"));
}

TEST_CASE("isbi reader: the 19 conventional symbols and titles in file order", "[isbi]") {
  isbi_tree t;
  t.plain("TrainingData", "001");
  data::landmark_set set;
  (void)data::read_isbi_split(t.root, "train", set);
  CHECK(set.symbols == std::vector<std::string>{"S", "N", "Or", "Po", "A", "B", "Pog", "Me", "Gn", "Go", "LIT", "UIT",
                                                "UL", "LL", "Sn", "Pog'", "PNS", "ANS", "Ar"});
  REQUIRE(set.titles.size() == 19);
  CHECK(set.titles[0] == "Sella");
  CHECK(set.titles[4] == "Subspinale");
  CHECK(set.titles[10] == "Lower incisal incision");
  CHECK(set.titles[15] == "Soft tissue pogonion");
  CHECK(set.titles[18] == "Articulare");
  // Another dataset's landmark set (a checkpoint's contract) is refused.
  data::landmark_set other{{"A", "B"}, {"A", "B"}};
  REQUIRE_THROWS_WITH(data::read_isbi_split(t.root, "train", other), Contains("19 landmarks"));
}

TEST_CASE("isbi reader: splits are TrainingData 001-130, 131-150, Test1Data and Test2Data", "[isbi]") {
  isbi_tree t;
  for (const auto* id : {"001", "002", "130", "131", "150"}) t.plain("TrainingData", id);
  for (const auto* id : {"151", "300"}) t.plain("Test1Data", id);
  t.plain("Test2Data", "301");
  CHECK(ids(read(t, "train")) == std::vector<std::string>{"001", "002", "130"});
  CHECK(ids(read(t, "valid")) == std::vector<std::string>{"131", "150"});
  CHECK(ids(read(t, "test")) == std::vector<std::string>{"151", "300"});
  CHECK(ids(read(t, "test2")) == std::vector<std::string>{"301"});
  CHECK(read(t, "test2").name == "test2");
}

TEST_CASE("isbi reader: classification lines after the points are ignored and CRLF is accepted", "[isbi]") {
  isbi_tree t;
  t.image("TrainingData", "001");
  auto senior = base_lines();
  senior[2] = " 40 , 41 ";  // spaces around the numbers
  t.annotation("400_senior", "001", "\xEF\xBB\xBF" + joined(senior, "\r\n") + "1\r\n3\r\n2\r\nnot a point\r\n\r\n");
  t.annotation("400_junior", "001", joined(base_lines()) + "2\n1\n");
  const auto split = read(t, "train");
  REQUIRE(split.images.size() == 1);
  CHECK(split.images[0].landmarks[2].x == 26.0);  // (40 + 12) / 2
  CHECK(split.images[0].landmarks[2].y == 31.5);  // (41 + 22) / 2
  CHECK(split.images[0].landmarks[18].x == 28.0);
  CHECK(split.images[0].landmarks[18].y == 38.0);
  // The parser alone, from memory: exactly 19 points, decimals accepted.
  auto lines = base_lines();
  lines[1] = "11.25,21.75";
  const auto points = data::parse_isbi_points(joined(lines, "\r\n") + "7\r\n", "mem.txt");
  REQUIRE(points.size() == 19);
  CHECK(points[1].x == 11.25);
  CHECK(points[1].y == 21.75);
}

TEST_CASE("isbi bad input: a short file names its line and the missing landmark", "[isbi]") {
  isbi_tree t;
  t.image("TrainingData", "001");
  auto junior = base_lines();
  junior.pop_back();
  t.annotation("400_senior", "001", joined(base_lines()));
  t.annotation("400_junior", "001", joined(junior));
  REQUIRE_THROWS_WITH(read(t, "train"), Contains("400_junior/001.txt:19: landmark 19 (Ar) is missing"));
  // 18 points followed by the label lines: line 19 is not "x,y".
  t.annotation("400_junior", "001", joined(junior) + "1\n2\n");
  REQUIRE_THROWS_WITH(read(t, "train"), Contains("400_junior/001.txt:19: expected 'x,y' for landmark 19 (Ar), found '1'"));
  REQUIRE_THROWS_WITH(data::parse_isbi_points("", "empty.txt"), Contains("empty.txt:1: landmark 1 (S) is missing"));
}

TEST_CASE("isbi bad input: non-numeric coordinates name the file and line", "[isbi]") {
  isbi_tree t;
  t.image("TrainingData", "001");
  auto senior = base_lines();
  senior[3] = "12,abc";
  t.annotation("400_senior", "001", joined(senior));
  t.annotation("400_junior", "001", joined(base_lines()));
  REQUIRE_THROWS_WITH(read(t, "train"), Contains("400_senior/001.txt:4: y of landmark 4 (Po) is 'abc', not a number"));
  senior[3] = "12;13";
  t.annotation("400_senior", "001", joined(senior));
  REQUIRE_THROWS_WITH(read(t, "train"), Contains("400_senior/001.txt:4: expected 'x,y'") && Contains("'12;13'"));
  senior[3] = "1,2,3";
  REQUIRE_THROWS_WITH(data::parse_isbi_points(joined(senior), "m.txt"), Contains("m.txt:4: expected 'x,y'"));
  senior[3] = "";
  REQUIRE_THROWS_WITH(data::parse_isbi_points(joined(senior), "m.txt"), Contains("m.txt:4:") && Contains("empty line"));
}

TEST_CASE("isbi bad input: a point outside its image names the file and line", "[isbi]") {
  isbi_tree t;
  t.image("TrainingData", "001");  // 60x50
  auto senior = base_lines();
  senior[6] = "500,20";
  t.annotation("400_senior", "001", joined(senior));
  t.annotation("400_junior", "001", joined(base_lines()));
  REQUIRE_THROWS_WITH(read(t, "train"), Contains("400_senior/001.txt:7: landmark 7 (Pog)") && Contains("outside the 60x50 image"));
}

TEST_CASE("isbi bad input: a missing folder is named", "[isbi]") {
  isbi_tree t;
  t.plain("TrainingData", "001");
  fs::remove_all(t.root / "RawImage" / "Test2Data");
  REQUIRE_THROWS_WITH(read(t, "test2"), Contains("RawImage/Test2Data: missing image folder of split 'test2'"));
  fs::remove_all(t.root / "AnnotationsByMD" / "400_senior");
  REQUIRE_THROWS_WITH(read(t, "train"), Contains("AnnotationsByMD/400_senior: missing annotation folder"));
}

TEST_CASE("isbi bad input: an image without annotation names the image", "[isbi]") {
  isbi_tree t;
  t.plain("TrainingData", "001");
  t.image("TrainingData", "002");
  t.annotation("400_senior", "002", joined(base_lines()));
  REQUIRE_THROWS_WITH(read(t, "train"), Contains(t.image_path("TrainingData", "002").string() + ": image without annotation") &&
                                           Contains("no 002.txt in") && Contains("400_junior"));
}

TEST_CASE("isbi bad input: an annotation without image names the annotation", "[isbi]") {
  isbi_tree t;
  t.plain("TrainingData", "001");
  t.annotation("400_junior", "003", joined(base_lines()));
  REQUIRE_THROWS_WITH(read(t, "train"), Contains(t.annotation_path("400_junior", "003").string() + ": annotation without an image"));
  // Annotations of other splits are not this split's business.
  fs::remove(t.annotation_path("400_junior", "003"));
  t.annotation("400_junior", "151", joined(base_lines()));
  CHECK(read(t, "train").images.size() == 1);
  t.annotation("400_senior", "notes", "x");
  REQUIRE_THROWS_WITH(read(t, "train"), Contains("notes.txt: not an ISBI 2015 annotation name"));
}

TEST_CASE("isbi bad input: an image outside its folder's numbers, an empty split and an unknown split", "[isbi]") {
  isbi_tree t;
  t.plain("TrainingData", "001");
  REQUIRE_THROWS_WITH(read(t, "valid"), Contains("TrainingData: split 'valid' holds no images") && Contains("131-150"));
  REQUIRE_THROWS_WITH(read(t, "test3"), Contains("no split 'test3'") && Contains("test2 (Test2Data 301-400)"));
  t.plain("TrainingData", "151");
  REQUIRE_THROWS_WITH(read(t, "train"), Contains("TrainingData/151.bmp: image 151 does not belong in TrainingData"));
  fs::remove(t.image_path("TrainingData", "151"));
  t.image("TrainingData", "scan");
  REQUIRE_THROWS_WITH(read(t, "train"), Contains("scan.bmp: not an ISBI 2015 image name"));
}

TEST_CASE("isbi synthetic tree: numbered splits, BMP images, junior at a known offset", "[isbi]") {
  temporary_directory dir;
  data::write_synthetic_isbi(dir.path(), {.train_images = 3, .valid_images = 2, .test_images = 2, .test2_images = 1,
                                          .width = 200, .height = 260, .junior_offset = {3, -2}, .crlf = true});
  CHECK(fs::is_regular_file(dir.path() / "RawImage" / "TrainingData" / "001.bmp"));
  data::landmark_set set;
  const auto train = data::read_isbi_split(dir.path(), "train", set);
  CHECK(ids(train) == std::vector<std::string>{"001", "002", "003"});
  CHECK(ids(data::read_isbi_split(dir.path(), "valid", set)) == std::vector<std::string>{"131", "132"});
  CHECK(ids(data::read_isbi_split(dir.path(), "test", set)) == std::vector<std::string>{"151", "152"});
  CHECK(ids(data::read_isbi_split(dir.path(), "test2", set)) == std::vector<std::string>{"301"});
  CHECK(train.images[0].width == 200);
  CHECK(train.images[0].height == 260);
  data::landmark_set senior_set;
  const auto senior = data::read_isbi_split(dir.path(), "train", senior_set, {.annotators = data::isbi_annotators::senior});
  for (std::size_t i = 0; i < train.images.size(); ++i)
    for (std::size_t k = 0; k < 19; ++k) {
      CHECK(train.images[i].landmarks[k].x - senior.images[i].landmarks[k].x == 1.5);
      CHECK(train.images[i].landmarks[k].y - senior.images[i].landmarks[k].y == -1.0);
    }
  // The senior points are whole pixels, as in the real files.
  CHECK(senior.images[0].landmarks[0].x == std::round(senior.images[0].landmarks[0].x));
}

namespace {
using isbi_source = data::isbi2015<{.image_size = {128, 96}}>;
using isbi_senior_source = data::isbi2015<{.image_size = {64, 64}, .annotators = data::isbi_annotators::senior}>;
static_assert(check_data_source<isbi_source>::ok);
static_assert(check_data_source<isbi_senior_source>::ok);
}  // namespace

TEST_CASE("isbi2015 data source: reads splits, describes itself and takes --annotators", "[isbi]") {
  temporary_directory dir;
  data::write_synthetic_isbi(dir.path(), {.junior_offset = {2, 4}});
  isbi_source source;
  CHECK(isbi_source::name == "isbi2015");
  CHECK((source.config.image_size == data::input_size{128, 96}));
  data::landmark_set set;
  const auto test2 = source.read_split(dir.path(), "test2", set);
  CHECK(ids(test2) == std::vector<std::string>{"301", "302"});
  CHECK(test2.images[0].pixel_size_mm == 0.1);
  const auto described = source.describe();
  CHECK(described["name"] == "isbi2015");
  CHECK(described["annotators"] == "mean");
  CHECK(described["pixel_size_mm"] == 0.1);
  CHECK(described["splits"]["valid"] == "TrainingData 131-150");

  isbi_senior_source senior;
  CHECK(senior.describe()["annotators"] == "senior");
  data::landmark_set senior_set;
  const auto senior_test2 = senior.read_split(dir.path(), "test2", senior_set);
  CHECK(test2.images[0].landmarks[3].x - senior_test2.images[0].landmarks[3].x == 1.0);
  CHECK(test2.images[0].landmarks[3].y - senior_test2.images[0].landmarks[3].y == 2.0);

  CLI::App cli;
  source.add_flags(cli);
  const char* argv[] = {"recipe", "--annotators", "senior"};
  cli.parse(3, argv);
  CHECK(source.describe()["annotators"] == "senior");
  const char* bad[] = {"recipe", "--annotators", "junior"};
  CHECK_THROWS_AS(cli.parse(3, bad), CLI::ValidationError);
}

}  // namespace test_isbi
