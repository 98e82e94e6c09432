// Bad input, one case per test: every message names the file and the line
// ("<file>:<line>: ...") or the JSON field ("<file>: field 'x': ..."); CRLF,
// 16-bit and colour images are accepted and their decoded values checked by
// hand. The cases and what the program does are listed in docs/reliability.md.
#include <catch2/catch.hpp>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <mixtrain/data/aariz_reader.hpp>
#include <mixtrain/data/aariz_samples.hpp>
#include <mixtrain/data/batch_pipeline.hpp>
#include <mixtrain/data/image_file.hpp>

#include "../support/data_files.hpp"
#include "../support/temporary_directory.hpp"

namespace fs = std::filesystem;
using namespace mixtrain;
using mixtrain::testing::temporary_directory;
using Catch::Contains;

namespace test_bad_input {
namespace {

using mixtrain::testing::junior;
using mixtrain::testing::senior;
using mixtrain::testing::write_bytes;

// A split "train" with one 60x40 grey PNG, img1, and its pixel size.
struct tree {
  temporary_directory dir;
  fs::path root = dir.path();
  fs::path images = data::aariz_layout::images_dir(root, "train");
  fs::path csv = root / data::aariz_layout::mapping_file;

  tree() {
    for (const auto& a : data::aariz_layout::annotators) fs::create_directories(data::aariz_layout::landmarks_dir(root, "train", a));
    fs::create_directories(images);
    std::ofstream(csv) << "cephalogram_id,machine,pixel_size\nimg1,m1,0.1\nimg2,m1,0.1\n";
    cv::imwrite((images / "img1.png").string(), cv::Mat(40, 60, CV_8UC1, cv::Scalar(9)));
  }
  [[nodiscard]] fs::path annotation(const std::string& id, const std::string& annotator = senior) const {
    return data::aariz_layout::landmarks_dir(root, "train", annotator) / (id + ".json");
  }
  void landmarks(const std::string& id, const std::vector<nlohmann::json>& points, const std::string& annotator = senior) const {
    std::ofstream(annotation(id, annotator)) << nlohmann::json{{"ceph_id", id}, {"landmarks", nlohmann::json(points)}}.dump();
  }
  [[nodiscard]] data::split read() const {
    data::landmark_set set;
    return data::read_aariz_split(root, "train", set);
  }
};

nlohmann::json mark(const std::string& symbol, double x, double y) {
  return {{"symbol", symbol}, {"title", symbol + " title"}, {"value", {{"x", x}, {"y", y}}}};
}
nlohmann::json unmarked(const std::string& symbol) { return {{"symbol", symbol}, {"value", nullptr}}; }

// A PNG whose header claims width x height (8-bit grey) over a few bytes of
// data: enough for every header check, nothing to decode.
std::vector<std::uint8_t> png_claiming(std::uint32_t width, std::uint32_t height) {
  std::vector<std::uint8_t> b = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  for (const auto v : {width, height})
    for (int k = 3; k >= 0; --k) b.push_back(static_cast<std::uint8_t>(v >> (8 * k)));
  for (const int v : std::vector<int>{8, 0, 0, 0, 0, 0, 0, 0, 0}) b.push_back(static_cast<std::uint8_t>(v));  // depth, colour, ..., CRC
  for (const int v : std::vector<int>{0, 0, 0, 2, 'I', 'D', 'A', 'T', 0x78, 0x01, 0, 0, 0, 0}) b.push_back(static_cast<std::uint8_t>(v));
  for (const int v : std::vector<int>{0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82}) b.push_back(static_cast<std::uint8_t>(v));
  return b;
}

const auto csv_name = fs::path("maps.csv");
std::map<std::string, double> sizes(const std::string& text) { return data::detail::parse_pixel_sizes(text, csv_name); }

// The one image of a tree through read_aariz_split, aariz_samples and the
// batch pipeline, evaluation mode, at its own size: the letterbox is the
// identity, so the batch holds the decoded pixels unchanged.
cv::Mat through_pipeline(const tree& t, cv::Size size) {
  t.landmarks("img1", {mark("A", 1, 1)});
  data::landmark_set set;
  const auto split = data::read_aariz_split(t.root, "train", set);
  REQUIRE(split.images.size() == 1);
  data::pipeline_options o;
  o.input = {size.width, size.height};
  o.batch_size = 1;
  o.num_workers = 1;
  o.shuffle = false;
  using none = data::augmentation_list<>;
  data::aariz_samples<none> samples(split, o.input, none{}, false, 0, 0);
  data::batch_pipeline pipeline(split.images.size(), 1, o, samples);
  pipeline.start_epoch(0);
  auto b = pipeline.next();
  REQUIRE(b.has_value());
  return cv::Mat(size, CV_8UC1, b->pixels.data()).clone();
}

}  // namespace

// --- the machine mappings CSV ---------------------------------------------------------

TEST_CASE("bad input: a CSV header without cephalogram_id or pixel_size is refused at line 1") {
  REQUIRE_THROWS_WITH(sizes("id,machine,pixel_size\nimg1,m,0.1\n"),
                      Contains("maps.csv:1: header must name the columns cephalogram_id and pixel_size") &&
                          Contains("found 'id', 'machine', 'pixel_size'"));
  REQUIRE_THROWS_WITH(sizes("cephalogram_id;machine;pixel_size\nimg1;m;0.1\n"), Contains("maps.csv:1: header must name"));
  // The columns may come in any order and in any case.
  CHECK(sizes("Pixel_Size,machine,CEPHALOGRAM_ID\n0.25,m,img1\n").at("img1") == 0.25);
}

TEST_CASE("bad input: a CSV row with too few columns names its line") {
  REQUIRE_THROWS_WITH(sizes("cephalogram_id,machine,pixel_size\nimg1,m,0.1\nimg2,m\n"),
                      Contains("maps.csv:3: 2 cells, too few: pixel_size is column 3"));
  REQUIRE_THROWS_WITH(sizes("cephalogram_id,machine,pixel_size\n,m,0.1\n"), Contains("maps.csv:2: cephalogram_id is empty"));
}

TEST_CASE("bad input: a non-numeric pixel size names its line and the cell") {
  for (const std::string cell : {"abc", "0.1mm", "", "nan", "inf", "0x1", "+-1"}) {
    INFO("pixel_size cell '" << cell << "'");
    const auto text = "cephalogram_id,pixel_size,machine\nimg1," + cell + ",m\n";
    REQUIRE_THROWS_WITH(sizes(text), Contains("maps.csv:2: pixel_size '" + cell + "' is not a number"));
  }
}

TEST_CASE("bad input: a zero or negative pixel size names its line") {
  REQUIRE_THROWS_WITH(sizes("cephalogram_id,pixel_size\nimg1,0.1\nimg2,0\n"), Contains("maps.csv:3: pixel_size 0 must be positive"));
  REQUIRE_THROWS_WITH(sizes("cephalogram_id,pixel_size\nimg1,-0.1\n"), Contains("maps.csv:2: pixel_size -0.1 must be positive"));
}

TEST_CASE("bad input: CRLF line endings, a byte-order mark, spaces and blank lines are accepted") {
  const auto s = sizes("\xEF\xBB\xBF" "cephalogram_id,machine,pixel_size\r\nimg1,m1,0.1\r\n\r\n img2 , m2 , 0.125 \r\nimg3,m3,2e-1");
  REQUIRE(s.size() == 3);
  CHECK(s.at("img1") == 0.1);
  CHECK(s.at("img2") == 0.125);
  CHECK(s.at("img3") == 0.2);
  // And through the reader, where the id must match the image's file name.
  tree t;
  std::ofstream(t.csv, std::ios::binary) << "cephalogram_id,machine,pixel_size\r\nimg1,m1,0.175\r\n";
  t.landmarks("img1", {mark("A", 1, 1)});
  CHECK(t.read().images.at(0).pixel_size_mm == 0.175);
}

TEST_CASE("bad input: a duplicate cephalogram id with another pixel size names its line and the first") {
  REQUIRE_THROWS_WITH(sizes("cephalogram_id,pixel_size\nimg1,0.1\nimg2,0.1\nimg1,0.2\n"),
                      Contains("maps.csv:4: cephalogram_id 'img1' again, with pixel_size 0.2 (line 2 gave another)"));
  // The same row twice is harmless and accepted.
  CHECK(sizes("cephalogram_id,pixel_size\nimg1,0.1\nimg1,0.1\n").at("img1") == 0.1);
}

TEST_CASE("bad input: an empty or missing mappings file is refused naming it") {
  REQUIRE_THROWS_WITH(sizes(""), Contains("maps.csv: the file is empty"));
  REQUIRE_THROWS_WITH(sizes("\r\n \n"), Contains("maps.csv: the file is empty"));
  tree t;
  t.landmarks("img1", {mark("A", 1, 1)});
  fs::remove(t.csv);
  REQUIRE_THROWS_WITH(t.read(), Contains(t.csv.string() + ": cannot open the machine mappings file"));
}

// --- annotation JSON ---------------------------------------------------------------------

TEST_CASE("bad input: annotation JSON that does not parse names the file and line") {
  const auto file = fs::path("a.json");
  REQUIRE_THROWS_WITH(data::detail::parse_landmark_json("{\n \"landmarks\": [\n  {\"symbol\": \"A\",,}\n]}", file),
                      Contains("a.json:3: broken JSON"));
  REQUIRE_THROWS_WITH(data::detail::parse_landmark_json("", file), Contains("a.json:1: broken JSON"));
  tree t;
  std::ofstream(t.annotation("img1")) << "{\"landmarks\": [ {";
  REQUIRE_THROWS_WITH(t.read(), Contains(t.annotation("img1").string() + ":1: broken JSON"));
}

TEST_CASE("bad input: annotation JSON without a required field names the field") {
  const auto file = fs::path("a.json");
  auto error = [&](const std::string& text) { return data::detail::parse_landmark_json(text, file); };
  REQUIRE_THROWS_WITH(error(R"({"ceph_id": "x"})"), Contains("a.json: field 'landmarks': missing"));
  REQUIRE_THROWS_WITH(error(R"([1, 2])"), Contains("a.json: field 'landmarks': missing: the file holds a JSON array"));
  REQUIRE_THROWS_WITH(error(R"({"landmarks": {"A": 1}})"), Contains("a.json: field 'landmarks': must be an array, found object"));
  REQUIRE_THROWS_WITH(error(R"({"landmarks": [{"symbol": "A", "value": null}, {"value": null}]})"),
                      Contains("a.json: field 'landmarks[1].symbol': missing"));
  REQUIRE_THROWS_WITH(error(R"({"landmarks": [{"symbol": 7, "value": null}]})"),
                      Contains("a.json: field 'landmarks[0].symbol': must be a non-empty string"));
  REQUIRE_THROWS_WITH(error(R"({"landmarks": [{"symbol": "A"}]})"), Contains("a.json: field 'landmarks[0].value': missing"));
  REQUIRE_THROWS_WITH(error(R"({"landmarks": [{"symbol": "A", "value": [1, 2]}]})"),
                      Contains("a.json: field 'landmarks[0].value': must be an object {x, y} or null, found array"));
  REQUIRE_THROWS_WITH(error(R"({"landmarks": [{"symbol": "A", "value": {"x": 1}}]})"),
                      Contains("a.json: field 'landmarks[0].value.y': missing"));
  REQUIRE_THROWS_WITH(error(R"({"landmarks": [{"symbol": "A", "value": {"x": "1", "y": 2}}]})"),
                      Contains("a.json: field 'landmarks[0].value.x': must be a number, found string"));
  // nlohmann/json refuses a number beyond double's range while parsing.
  REQUIRE_THROWS_WITH(error(R"({"landmarks": [{"symbol": "A", "value": {"x": 1, "y": 1e999}}]})"),
                      Contains("a.json: broken JSON") && Contains("number overflow parsing '1e999'"));
  REQUIRE_THROWS_WITH(error(R"({"landmarks": [{"symbol": "A", "value": null}, {"symbol": "A", "value": null}]})"),
                      Contains("a.json: field 'landmarks[1].symbol': 'A' appears twice (also landmarks[0])"));
}

TEST_CASE("bad input: an empty landmark list names the field") {
  REQUIRE_THROWS_WITH(data::detail::parse_landmark_json(R"({"landmarks": []})", "a.json"),
                      Contains("a.json: field 'landmarks': the list is empty"));
}

TEST_CASE("bad input: a landmark outside the image names the file, the field and the image size") {
  tree t;  // img1 is 60x40
  t.landmarks("img1", {mark("A", 10, 10), mark("B", 60.5, 40.9)});
  CHECK(t.read().images.at(0).landmarks.at(1).x == 60.5);  // within a pixel of the edge: accepted
  t.landmarks("img1", {mark("A", 10, 10), mark("B", 30, 41.5)});
  REQUIRE_THROWS_WITH(t.read(), Contains(t.annotation("img1").string() + ": field 'landmarks[1].value': (30.000000, 41.500000) "
                                         "lies outside the 60x40 image"));
  t.landmarks("img1", {mark("A", -3, 10), mark("B", 1, 1)});
  REQUIRE_THROWS_WITH(t.read(), Contains("field 'landmarks[0].value': (-3.000000, 10.000000) lies outside"));
}

TEST_CASE("bad input: annotators disagreeing on a missing landmark - the one who marked it is the truth") {
  tree t;
  t.landmarks("img1", {mark("A", 10, 20), unmarked("B"), unmarked("C")}, senior);
  t.landmarks("img1", {mark("A", 12, 22), mark("B", 30, 31), unmarked("C")}, junior);
  const auto image = t.read().images.at(0);
  CHECK(image.present == std::vector<std::uint8_t>{1, 1, 0});
  CHECK(image.landmarks[0].x == 11);  // both marked: the mean
  CHECK(image.landmarks[1].x == 30);  // only the junior marked B: the junior's point, not a mean with (0, 0)
  CHECK(image.landmarks[1].y == 31);
}

TEST_CASE("bad input: a broken CVM file names the field") {
  const auto file = fs::path("c.json");
  REQUIRE_THROWS_WITH(data::detail::parse_cvm_json(R"({"ceph_id": "x"})", file), Contains("c.json: field 'cvm_stage': missing"));
  REQUIRE_THROWS_WITH(data::detail::parse_cvm_json(R"({"cvm_stage": {"value": "S4"}})", file),
                      Contains("c.json: field 'cvm_stage.value': must be a small non-negative integer, found \"S4\""));
  CHECK(data::detail::parse_cvm_json(R"({"cvm_stage": {"id": 3, "value": 4}})", file) == 4);
}

// --- the folder layout ------------------------------------------------------------------------

TEST_CASE("bad input: an image without annotation is refused naming the image") {
  tree t;
  REQUIRE_THROWS_WITH(t.read(), Contains((t.images / "img1.png").string() + ": no landmark annotation (expected img1.json"));
}

TEST_CASE("bad input: an annotation without an image is refused naming the annotation") {
  tree t;
  t.landmarks("img1", {mark("A", 1, 1)});
  t.landmarks("img9", {mark("A", 1, 1)}, junior);
  REQUIRE_THROWS_WITH(t.read(), Contains(t.annotation("img9", junior).string() +
                                         ": annotation without an image: no img9.png, .jpg, .jpeg or .bmp in " + t.images.string()));
  fs::remove(t.annotation("img9", junior));
  fs::create_directories(data::aariz_layout::cvm_dir(t.root, "train"));
  const auto cvm = data::aariz_layout::cvm_dir(t.root, "train") / "img8.json";
  std::ofstream(cvm) << R"({"cvm_stage": {"value": 2}})";
  REQUIRE_THROWS_WITH(t.read(), Contains(cvm.string() + ": annotation without an image"));
}

TEST_CASE("bad input: an empty split folder is refused naming it") {
  tree t;
  fs::remove(t.images / "img1.png");
  std::ofstream(t.images / ".DS_Store") << "x";  // hidden files are not images and not errors
  REQUIRE_THROWS_WITH(t.read(), Contains(t.images.string() + ": split 'train' holds no images"));
}

TEST_CASE("bad input: a missing split folder is refused naming it") {
  tree t;
  data::landmark_set set;
  REQUIRE_THROWS_WITH(data::read_aariz_split(t.root, "valid", set),
                      Contains(data::aariz_layout::images_dir(t.root, "valid").string() + ": missing image directory of split 'valid'"));
}

TEST_CASE("bad input: images in formats the reader does not take are refused with the formats it takes") {
  // .tif, .tiff and .dcm are taken (test_image_formats*.cpp).
  for (const std::string name : {"img2.webp", "img2.GIF", "notes.txt"}) {
    tree t;
    t.landmarks("img1", {mark("A", 1, 1)});
    std::ofstream(t.images / name) << "II*";
    INFO(name);
    const auto ext = fs::path(name).extension().string();
    std::string lower = ext;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    REQUIRE_THROWS_WITH(t.read(), Contains((t.images / name).string() + ": '" + lower + "' files are not read: the reader takes "
                                           "PNG, JPEG, BMP") && Contains("TIFF (.png, .jpg, .jpeg, .bmp, .tif, .tiff"));
  }
}

TEST_CASE("bad input: two images with one id are refused") {
  tree t;
  t.landmarks("img1", {mark("A", 1, 1)});
  cv::imwrite((t.images / "img1.jpg").string(), cv::Mat(40, 60, CV_8UC1, cv::Scalar(9)));
  REQUIRE_THROWS_WITH(t.read(), Contains(": a second image for cephalogram 'img1'"));
}

// --- image files -------------------------------------------------------------------------------

TEST_CASE("bad input: an empty image file is refused when the split is read and when decoded") {
  tree t;
  t.landmarks("img1", {mark("A", 1, 1)});
  const auto file = t.images / "img1.png";
  fs::resize_file(file, 0);
  REQUIRE_THROWS_WITH(t.read(), Contains(file.string() + ": image file is empty (0 bytes)"));
  REQUIRE_THROWS_WITH(data::decode_grayscale(file), Contains(file.string() + ": cannot decode image: image file is empty"));
}

TEST_CASE("bad input: a truncated PNG, JPEG or BMP is refused at decoding naming the file") {
  // The reader reads headers only; the end of the file is checked when the
  // sample is decoded (an error, or a counted skip with --skip_bad_samples).
  temporary_directory dir;
  cv::Mat image(64, 64, CV_8UC1);
  cv::randu(image, 0, 255);
  for (const auto& [ext, expected] : {std::pair{".png", "image file is truncated (PNG end chunk missing)"},
                                      std::pair{".jpg", "image file is truncated (JPEG end marker missing)"},
                                      std::pair{".bmp", "image file is truncated (BMP pixel data incomplete)"}}) {
    std::vector<std::uint8_t> bytes;
    cv::imencode(ext, image, bytes);
    bytes.resize(bytes.size() * 2 / 3);
    const auto file = dir.path() / (std::string("cut") + ext);
    write_bytes(file, bytes);
    CHECK(data::checked_image_header(file).size == cv::Size(64, 64));
    REQUIRE_THROWS_WITH(data::decode_grayscale(file), Contains(file.string() + ": " + expected));
  }
}

TEST_CASE("bad input: a file that is not an image is refused saying what it is") {
  tree t;
  t.landmarks("img1", {mark("A", 1, 1)});
  const auto file = t.images / "img1.png";
  std::ofstream(file, std::ios::binary) << "not an image";
  REQUIRE_THROWS_WITH(t.read(), Contains(file.string() + ": not an image the reader takes (it starts with bytes 6e 6f 74 20); "
                                         "it takes PNG, JPEG, BMP"));
  std::ofstream(file, std::ios::binary) << "GIF89a";  // a GIF named .png
  REQUIRE_THROWS_WITH(t.read(), Contains(file.string() + ": not an image the reader takes (a GIF file)"));
  REQUIRE_THROWS_WITH(data::decode_grayscale(file), Contains(file.string() + ": cannot decode image: not an image the reader takes"));
}

TEST_CASE("bad input: a header claiming 100000x100000 pixels is refused before decoding") {
  tree t;
  t.landmarks("img1", {mark("A", 1, 1)});
  const auto file = t.images / "img1.png";
  write_bytes(file, png_claiming(100000, 100000));
  const std::string refused = ": header claims 100000x100000 pixels, over the limit of 268435456 pixels (16384x16384) or "
                              "65535 on a side: refused before decoding";
  REQUIRE_THROWS_WITH(t.read(), Contains(file.string() + refused));
  REQUIRE_THROWS_WITH(data::decode_grayscale(file), Contains(file.string() + ": cannot decode image:" + refused.substr(1)));
  // A JPEG within JPEG's own limit but over the pixel count.
  const auto jpeg = t.images / "img1.jpg";
  fs::remove(file);
  write_bytes(jpeg, {0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0xEA, 0x60, 0xEA, 0x60, 1, 1, 0x11, 0, 0xFF, 0xD9});
  REQUIRE_THROWS_WITH(t.read(), Contains(jpeg.string() + ": header claims 60000x60000 pixels, over the limit"));
  // Within the limit but with data far too short for the rows: refused as
  // corrupt before the 256 MB of rows are allocated.
  write_bytes(file, png_claiming(16000, 16000));
  fs::remove(jpeg);
  REQUIRE_THROWS_WITH(data::decode_grayscale(file), Contains(file.string() + ": cannot decode image: corrupt PNG data"));
  write_bytes(file, png_claiming(0, 7));
  REQUIRE_THROWS_WITH(t.read(), Contains(file.string() + ": header claims 0x7 pixels: an empty image"));
}

TEST_CASE("bad input: 16-bit grey images reach the batch through the percentile window") {
  // A 12-bit image in 16 bits: 48 pixels, so k = floor(48 / 200) = 0 and the
  // window is [min, max] = [0, 4095]; v -> floor(255 v / 4095 + 1/2):
  // 1000 -> 62.27 -> 62, 2048 -> 127.53 -> 128, 3000 -> 186.81 -> 187, 17 -> 1.06 -> 1
  // (the old high-byte rule gave 0, 3, 8, 15, 11, 0: nearly black).
  const std::vector<std::uint16_t> values = {0, 1000, 2048, 4095, 3000, 17};
  const std::vector<std::uint8_t> expected = {0, 62, 128, 255, 187, 1};
  cv::Mat deep(4, static_cast<int>(values.size()) * 2, CV_16UC1);
  for (int y = 0; y < deep.rows; ++y)
    for (int x = 0; x < deep.cols; ++x) deep.at<std::uint16_t>(y, x) = values[static_cast<std::size_t>(x / 2)];
  for (const bool colour : {false, true}) {
    INFO((colour ? "16-bit RGB (equal channels)" : "16-bit grey"));
    tree t;
    cv::Mat written = deep;
    if (colour) cv::merge(std::vector<cv::Mat>{deep, deep, deep}, written);
    REQUIRE(cv::imwrite((t.images / "img1.png").string(), written));
    REQUIRE(data::checked_image_header(t.images / "img1.png").bits == 16);
    const auto pixels = through_pipeline(t, deep.size());
    for (int x = 0; x < deep.cols; ++x) {
      INFO("column " << x << ", value " << values[static_cast<std::size_t>(x / 2)]);
      CHECK(pixels.at<std::uint8_t>(1, x) == expected[static_cast<std::size_t>(x / 2)]);
    }
  }
}

TEST_CASE("bad input: colour images reach the batch as BT.601 luma") {
  // Pure colours: 0.299 R + 0.587 G + 0.114 B of 255, and a mixed grey.
  const std::vector<cv::Vec3b> bgr = {{0, 0, 255}, {0, 255, 0}, {255, 0, 0}, {40, 120, 200}};
  const std::vector<double> luma = {76.245, 149.685, 29.07, 0.114 * 40 + 0.587 * 120 + 0.299 * 200};
  cv::Mat image(4, static_cast<int>(bgr.size()) * 2, CV_8UC3);
  for (int y = 0; y < image.rows; ++y)
    for (int x = 0; x < image.cols; ++x) image.at<cv::Vec3b>(y, x) = bgr[static_cast<std::size_t>(x / 2)];
  for (const std::string ext : {".png", ".bmp"}) {
    INFO(ext);
    tree t;
    fs::remove(t.images / "img1.png");
    REQUIRE(cv::imwrite((t.images / ("img1" + ext)).string(), image));
    const auto pixels = through_pipeline(t, image.size());
    for (int x = 0; x < image.cols; ++x) {
      INFO("column " << x);
      CHECK(std::abs(pixels.at<std::uint8_t>(2, x) - luma[static_cast<std::size_t>(x / 2)]) <= 1.0);
    }
  }
}

}  // namespace test_bad_input
