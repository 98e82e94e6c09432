#pragma once
// Writes a small deterministic tree in the ISBI 2015 layout
// (data/isbi_reader.hpp) for tests: BMP images numbered as the challenge's
// (train 001.., valid 131.., test 151.., test2 301..), senior annotations at
// integer pixels with a ring drawn at each landmark so a model can learn
// them, and junior annotations at the senior points plus a known offset, so
// the merged ground truth is known exactly (senior + offset / 2). Each file
// ends with classification-label lines, as the real ones do.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <mixtrain/data/annotation.hpp>
#include <mixtrain/data/isbi_reader.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::data {

struct synthetic_isbi_options {
  int train_images = 4;  // 001, 002, ...
  int valid_images = 2;  // 131, 132, ...
  int test_images = 2;   // 151, ... (Test1Data)
  int test2_images = 2;  // 301, ... (Test2Data)
  int width = 240;       // the real images are 1935x2400; tests need small ones
  int height = 300;
  point junior_offset = {3, -2};  // junior = senior + this; whole pixels (the files hold integers)
  bool crlf = false;              // write Windows line endings
  std::uint64_t seed = 7;
};

namespace synthetic {

// The 19 ISBI landmarks (isbi_layout::symbols order) in a unit head box, face
// looking right; the same places as the Aariz generator's (UL = Ls, LL = Li).
inline constexpr std::array<point, isbi_layout::landmark_count> isbi_template = {{
    {0.39, 0.35}, {0.78, 0.30}, {0.69, 0.41}, {0.24, 0.42}, {0.74, 0.60}, {0.73, 0.80}, {0.75, 0.88},
    {0.69, 0.94}, {0.73, 0.92}, {0.39, 0.81}, {0.775, 0.705}, {0.79, 0.695}, {0.875, 0.665}, {0.865, 0.76},
    {0.86, 0.585}, {0.83, 0.89}, {0.49, 0.56}, {0.77, 0.55}, {0.31, 0.52},
}};

MIXTRAIN_COLD void write_isbi_points(const std::filesystem::path& file, const std::vector<point>& points, bool crlf);

}  // namespace synthetic

// Generates the tree under `root` (created; existing files are overwritten).
MIXTRAIN_COLD void write_synthetic_isbi(const std::filesystem::path& root, const synthetic_isbi_options& options = {});

}  // namespace mixtrain::data

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/data/impl/synthetic_isbi.ipp>
#endif
