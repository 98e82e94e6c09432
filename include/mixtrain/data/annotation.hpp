#pragma once
// Plain records for annotated cephalograms; independent of LibTorch and OpenCV.
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace mixtrain::data {

struct point {
  double x = 0;
  double y = 0;
};

// The landmark set comes from the data: symbols in the order of the first
// annotation file read, so the same reader serves 29- and 19-landmark sets.
struct landmark_set {
  std::vector<std::string> symbols;
  std::vector<std::string> titles;

  [[nodiscard]] std::size_t size() const { return symbols.size(); }
  friend bool operator==(const landmark_set&, const landmark_set&) = default;
};

struct annotated_image {
  std::string id;
  std::filesystem::path image_path;
  double pixel_size_mm = 0.1;
  int width = 0;   // original size from the file header; 0 when unreadable
  int height = 0;
  std::vector<point> landmarks;       // original pixels, one per symbol
  std::vector<std::uint8_t> present;  // 0 when no annotator marked the landmark
  int cvm_stage = -1;                 // -1 when the split has no CVM file for it
  // Kept for `inspect` (the floor any model is judged against): per symbol,
  // the distance between the two annotators in original pixels; empty when
  // the image has one annotator, NaN where one of them left the landmark out.
  std::vector<double> annotator_distance_px;
  std::string device;  // the imaging machine when the data names it, else empty
};

struct split {
  std::string name;
  std::vector<annotated_image> images;
};

// A data error that names the offending file ("<file>: <what>") or a line of
// it ("<file>:<line>: <what>", the form editors and compilers jump to);
// --skip_bad_samples turns the per-sample ones into counted warnings.
class data_error : public std::runtime_error {
 public:
  data_error(const std::filesystem::path& file, const std::string& what)
      : std::runtime_error(file.string() + ": " + what), file_(file) {}
  data_error(const std::filesystem::path& file, std::size_t line, const std::string& what)
      : std::runtime_error(file.string() + ":" + std::to_string(line) + ": " + what), file_(file) {}
  [[nodiscard]] const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
};

}  // namespace mixtrain::data
