// The Aariz reader, the synthetic generator and image decoding.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <mixtrain/data/aariz_reader.hpp>
#include <mixtrain/data/image_file.hpp>
#include <mixtrain/data/synthetic_aariz.hpp>

#include "../support/data_files.hpp"
#include "../support/temporary_directory.hpp"

namespace fs = std::filesystem;
using namespace mixtrain;
using mixtrain::testing::temporary_directory;

namespace test_reader {
namespace {

// A hand-made tree: two images, three landmarks, annotators given per image.
struct small_tree {
  temporary_directory dir;
  fs::path root = dir.path();

  small_tree() {
    for (const auto& a : data::aariz_layout::annotators) fs::create_directories(data::aariz_layout::landmarks_dir(root, "train", a));
    fs::create_directories(data::aariz_layout::images_dir(root, "train"));
    fs::create_directories(data::aariz_layout::cvm_dir(root, "train"));
    std::ofstream(root / data::aariz_layout::mapping_file)
        << "cephalogram_id,machine,pixel_size,image_format,mode\nimg1,m1,0.1,png,x\nimg2,m2,0.125,jpg,x\n";
    cv::imwrite((data::aariz_layout::images_dir(root, "train") / "img1.png").string(), cv::Mat(40, 60, CV_8UC1, cv::Scalar(9)));
    cv::imwrite((data::aariz_layout::images_dir(root, "train") / "img2.jpg").string(), cv::Mat(50, 30, CV_8UC1, cv::Scalar(9)));
  }

  void landmarks(const std::string& id, const std::string& annotator, const std::vector<nlohmann::json>& points) const {
    nlohmann::json j = {{"ceph_id", id}, {"landmarks", nlohmann::json(points)}};
    std::ofstream(data::aariz_layout::landmarks_dir(root, "train", annotator) / (id + ".json")) << j.dump();
  }
};

nlohmann::json point(const std::string& symbol, double x, double y) {
  return {{"landmark_id", symbol + "-id"}, {"title", symbol + " title"}, {"symbol", symbol}, {"value", {{"x", x}, {"y", y}}}};
}

using mixtrain::testing::junior;
using mixtrain::testing::senior;

}  // namespace

TEST_CASE("aariz reader takes the mean of both annotators and joins by symbol, not position") {
  small_tree t;
  t.landmarks("img1", senior, {point("A", 10, 20), point("B", 30, 40), point("S", 1, 1)});
  t.landmarks("img1", junior, {point("S", 3, 5), point("A", 12, 22), point("B", 30, 36)});
  t.landmarks("img2", senior, {point("A", 5, 5), point("B", 6, 6), point("S", 7, 7)});
  data::landmark_set set;
  const auto split = data::read_aariz_split(t.root, "train", set);
  REQUIRE(set.symbols == std::vector<std::string>{"A", "B", "S"});
  REQUIRE(split.images.size() == 2);
  const auto& first = split.images[0];
  CHECK(first.id == "img1");
  CHECK(first.pixel_size_mm == Approx(0.1));
  CHECK(first.width == 60);
  CHECK(first.height == 40);
  CHECK(first.landmarks[0].x == Approx(11));
  CHECK(first.landmarks[0].y == Approx(21));
  CHECK(first.landmarks[1].y == Approx(38));
  CHECK(first.landmarks[2].x == Approx(2));
  CHECK(first.landmarks[2].y == Approx(3));
  // Only one annotator for img2: its marks are the truth.
  CHECK(split.images[1].landmarks[2].x == Approx(7));
  CHECK(split.images[1].pixel_size_mm == Approx(0.125));
}

TEST_CASE("aariz reader names the file whose landmark symbols disagree with the dataset") {
  small_tree t;
  t.landmarks("img1", senior, {point("A", 1, 1), point("B", 2, 2)});
  t.landmarks("img2", senior, {point("A", 1, 1), point("Go", 2, 2)});
  data::landmark_set set;
  try {
    data::read_aariz_split(t.root, "train", set);
    FAIL("expected a data_error");
  } catch (const data::data_error& e) {
    const std::string message = e.what();
    CHECK_THAT(message, Catch::Contains("img2.json"));
    CHECK_THAT(message, Catch::Contains("missing: B"));
    CHECK_THAT(message, Catch::Contains("unexpected: Go"));
  }
}

TEST_CASE("aariz reader reports broken JSON with the file's name") {
  small_tree t;
  t.landmarks("img1", senior, {point("A", 1, 1)});
  std::ofstream(data::aariz_layout::landmarks_dir(t.root, "train", junior) / "img2.json") << "{\"landmarks\": [ {";
  data::landmark_set set;
  REQUIRE_THROWS_WITH(data::read_aariz_split(t.root, "train", set),
                      Catch::Contains("img2.json") && Catch::Contains("broken JSON"));
}

TEST_CASE("aariz reader reports an image without annotation and a missing pixel size") {
  small_tree t;
  t.landmarks("img1", senior, {point("A", 1, 1)});
  data::landmark_set set;
  REQUIRE_THROWS_WITH(data::read_aariz_split(t.root, "train", set),
                      Catch::Contains("img2.jpg") && Catch::Contains("no landmark annotation"));
  t.landmarks("img2", senior, {point("A", 1, 1)});
  std::ofstream(t.root / data::aariz_layout::mapping_file) << "cephalogram_id,machine,pixel_size\nimg1,m1,0.1\n";
  REQUIRE_THROWS_WITH(data::read_aariz_split(t.root, "train", set),
                      Catch::Contains("cephalogram_machine_mappings.csv") && Catch::Contains("img2"));
}

TEST_CASE("aariz reader treats a null landmark value as not annotated and reads CVM stages") {
  small_tree t;
  auto missing = point("B", 0, 0);
  missing["value"] = nullptr;
  t.landmarks("img1", senior, {point("A", 4, 4), missing});
  t.landmarks("img1", junior, {point("A", 6, 6), missing});
  t.landmarks("img2", senior, {point("A", 1, 1), point("B", 2, 2)});
  std::ofstream(data::aariz_layout::cvm_dir(t.root, "train") / "img2.json")
      << R"({"ceph_id": "img2", "cvm_stage": {"id": 3, "title": "CVM-S4", "value": 4}})";
  data::landmark_set set;
  const auto split = data::read_aariz_split(t.root, "train", set);
  CHECK(split.images[0].present == std::vector<std::uint8_t>{1, 0});
  CHECK(split.images[0].landmarks[0].x == Approx(5));
  CHECK(split.images[0].cvm_stage == -1);
  CHECK(split.images[1].cvm_stage == 4);
}

TEST_CASE("synthetic Aariz data is deterministic, mixed in format and size, and reads back with 29 landmarks") {
  temporary_directory a, b;
  const data::synthetic_options options{.train_images = 7, .valid_images = 2, .test_images = 1, .min_side = 120, .max_side = 300, .seed = 3};
  data::write_synthetic_aariz(a.path(), options);
  data::write_synthetic_aariz(b.path(), options);
  data::landmark_set set;
  const auto split = data::read_aariz_split(a.path(), "train", set);
  REQUIRE(set.size() == 29);
  CHECK(set.symbols.front() == "A");
  CHECK(set.symbols.back() == "Sn");
  REQUIRE(split.images.size() == 7);
  std::set<std::string> extensions;
  std::set<double> pixel_sizes;
  for (const auto& image : split.images) {
    extensions.insert(image.image_path.extension().string());
    pixel_sizes.insert(image.pixel_size_mm);
    CHECK(image.width >= 120);
    CHECK(image.width <= 300);
    CHECK(image.height >= 120);
    CHECK(image.height <= 300);
    const auto twin = b.path() / fs::relative(image.image_path, a.path());
    CHECK(data::read_file_bytes(twin) == data::read_file_bytes(image.image_path));
  }
  CHECK(extensions.size() >= 3);
  CHECK(pixel_sizes.size() >= 3);
  data::landmark_set valid_set = set;
  CHECK(data::read_aariz_split(a.path(), "valid", valid_set).images.size() == 2);
}

TEST_CASE("image headers give the size of PNG, JPEG and BMP files") {
  temporary_directory dir;
  for (const std::string ext : {".png", ".jpg", ".bmp"}) {
    const auto file = dir.path() / ("x" + ext);
    cv::imwrite(file.string(), cv::Mat(37, 81, CV_8UC1, cv::Scalar(100)));
    const auto size = data::read_image_header_size(file);
    REQUIRE(size.has_value());
    CHECK(size->width == 81);
    CHECK(size->height == 37);
  }
}

TEST_CASE("decoding a truncated or corrupt image names the file") {
  temporary_directory dir;
  cv::Mat image(64, 64, CV_8UC1);
  cv::randu(image, 0, 255);
  for (const std::string ext : {".jpg", ".png"}) {
    std::vector<std::uint8_t> bytes;
    cv::imencode(ext, image, bytes);
    bytes.resize(bytes.size() / 2);
    const auto file = dir.path() / ("cut" + ext);
    std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    REQUIRE_THROWS_WITH(data::decode_grayscale(file), Catch::Contains(file.string()));
  }
  const auto text = dir.path() / "text.png";
  std::ofstream(text) << "not an image";
  REQUIRE_THROWS_WITH(data::decode_grayscale(text), Catch::Contains("text.png") && Catch::Contains("cannot decode"));
}

TEST_CASE("reduced decoding keeps at least the needed resolution") {
  CHECK(data::reduction_for(1.0) == 1);
  CHECK(data::reduction_for(0.6) == 1);
  CHECK(data::reduction_for(0.5) == 2);
  CHECK(data::reduction_for(0.3) == 2);
  CHECK(data::reduction_for(0.2) == 4);
  CHECK(data::reduction_for(0.01) == 8);
  temporary_directory dir;
  const auto file = dir.path() / "big.jpg";
  cv::imwrite(file.string(), cv::Mat(800, 1200, CV_8UC1, cv::Scalar(50)));
  const auto decoded = data::decode_grayscale(file, 0.2);
  CHECK(decoded.original_size == cv::Size(1200, 800));
  CHECK(decoded.pixels.cols == 300);
  CHECK(decoded.reduction == Approx(4.0));
}

// Inputs kept from fuzzing and review (tests/data/regressions/<parser>/, see
// scripts/fuzz): each gives a result or a data_error naming the file, never
// another exception or a crash.
TEST_CASE("regression inputs give a clean result or an error naming the file") {
  const auto dir = fs::path(__FILE__).parent_path() / "regressions";
  int inputs = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const auto file = entry.path();
    const auto kind = file.parent_path().filename().string();
    INFO(file.string());
    ++inputs;
    try {
      const auto bytes = data::read_file_bytes(file);
      const std::string text(bytes.begin(), bytes.end());
      if (kind == "csv") (void)data::detail::parse_pixel_sizes(text, file);
      else if (kind == "annotation") (void)data::detail::parse_landmark_json(text, file);
      else if (kind == "image") (void)data::decode_grayscale(bytes, file, 0.3);
      else FAIL("a regression input outside csv/, annotation/ and image/");
    } catch (const data::data_error& e) {
      CHECK_THAT(std::string(e.what()), Catch::StartsWith(file.string() + ":"));
    }
  }
  CHECK(inputs > 0);
}

TEST_CASE("regression: a BMP whose height is INT32_MIN is refused by its size, not undefined behaviour") {
  // std::abs(INT32_MIN) overflows; such a height now reads as INT32_MAX.
  const auto file = fs::path(__FILE__).parent_path() / "regressions" / "image" / "bmp_height_int_min.bmp";
  const auto bytes = data::read_file_bytes(file);
  REQUIRE(bytes.size() == 54);
  CHECK(data::image_size_from_header(bytes) == cv::Size(17, 2147483647));
  CHECK(data::truncation_problem(bytes) == "image file is truncated (BMP pixel data incomplete)");
  REQUIRE_THROWS_WITH(data::decode_grayscale(bytes, file),
                      Catch::Contains(file.string() + ": cannot decode image: header claims 17x2147483647 pixels, over the limit"));
}

}  // namespace test_reader
