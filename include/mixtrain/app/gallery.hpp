#pragma once
// The gallery of an evaluation: for each landmark, the images where it is
// worst, as overlay crops around the true point (prediction, truth and the
// error line). Each image is decoded once, however many landmarks it shows.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include <fmt/core.h>

#include <mixtrain/app/evaluation_files.hpp>
#include <mixtrain/app/overlay.hpp>
#include <mixtrain/data/annotation.hpp>
#include <mixtrain/data/image_file.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::app {

// The image in grey at its original size (a decoder may hand back a scaled-down
// image; overlays are drawn in original pixels).
MIXTRAIN_COLD cv::Mat grayscale_at_original_size(const std::filesystem::path& path);

struct gallery_entry {
  std::size_t landmark = 0;
  std::size_t rank = 0;  // 0 = the worst
  std::size_t image = 0;
  double error_mm = 0;
  std::filesystem::path file;      // the crop written, relative to the gallery folder
  std::vector<std::uint8_t> png;   // kept for the worst of each landmark (report thumbnails)
  std::string caption;
};

// A symbol as a file-name part: "Pog'" -> "Pog_".
MIXTRAIN_COLD std::string file_safe(const std::string& text);

// Writes <folder>/<NN>_<symbol>_<rank>_<image id>.png for the `per_landmark`
// worst images of each landmark; returns what it wrote (worst first).
MIXTRAIN_COLD std::vector<gallery_entry> write_gallery(const std::filesystem::path& folder, const data::split& set,
                                                       const std::vector<std::vector<data::point>>& predicted,
                                                       const data::landmark_set& landmarks, const error_table& errors,
                                                       std::size_t per_landmark, int thumbnail_side = 192);

}  // namespace mixtrain::app

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/app/impl/gallery.ipp>
#endif
