#pragma once
// Landmarks drawn on the X-ray at original resolution: predict --overlay,
// evaluate's gallery and report thumbnails. With ground truth, each landmark
// gets both points and the error line between them, coloured by its radial
// error (the SDR thresholds: green within 2 mm, yellow within 4 mm, red beyond).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <mixtrain/data/annotation.hpp>
#include <mixtrain/io/files.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::app {

// BGR colours.
inline const cv::Scalar prediction_colour{255, 160, 0};  // blue-cyan: a prediction without truth
inline const cv::Scalar truth_colour{255, 255, 255};

MIXTRAIN_COLD cv::Scalar error_colour(double error_mm);

// Ground truth beside the prediction, in original pixels.
struct overlay_truth {
  const std::vector<data::point>* points = nullptr;
  const std::vector<std::uint8_t>* present = nullptr;
  double pixel_size_mm = 0;  // 0: errors in px, coloured at 0.1 mm per px
};

// Marks scale with the image so they read the same on 512 px and 2400 px sides.
MIXTRAIN_COLD int overlay_unit(const cv::Size& size);

// A BGR copy of the grayscale image with the landmarks drawn on it.
MIXTRAIN_COLD cv::Mat draw_landmarks(const cv::Mat& gray, const std::vector<std::string>& symbols,
                                     const std::vector<data::point>& predicted, const overlay_truth& truth = {});

// The square around `centre` of side 2 * half (clipped to the image), resized to `side` px.
MIXTRAIN_COLD cv::Mat crop_thumbnail(const cv::Mat& image, const data::point& centre, int half, int side);

// The whole image scaled to `width` px.
MIXTRAIN_COLD cv::Mat fit_width(const cv::Mat& image, int width);

MIXTRAIN_COLD std::vector<std::uint8_t> encode_png(const cv::Mat& image);

MIXTRAIN_COLD void write_png(const std::filesystem::path& path, const cv::Mat& image);

}  // namespace mixtrain::app

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/app/impl/overlay.ipp>
#endif
