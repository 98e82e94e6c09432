#pragma once
// Reads the ISBI 2015 cephalometric challenge layout (Wang et al., "A benchmark
// for comparison of dental radiography analysis algorithms", MedIA 2016):
//   <root>/RawImage/TrainingData/001.bmp ... 150.bmp
//   <root>/RawImage/Test1Data/151.bmp ... 300.bmp
//   <root>/RawImage/Test2Data/301.bmp ... 400.bmp
//   <root>/AnnotationsByMD/400_senior/NNN.txt   and   .../400_junior/NNN.txt
// An annotation file holds 19 lines "x,y" (pixels, as written in the file),
// then the classification labels, which are not read. Every image is
// 1935x2400 pixels at 0.1 mm per pixel.
//
// Splits follow the usual paper convention (train on the 150 training images,
// report Test1 and Test2 separately); the validation carve-out is mixtrain's:
//   train = TrainingData 001-130, valid = TrainingData 131-150 (fixed, the
//   last 20 by number, never random), test = Test1Data, test2 = Test2Data.
// Ground truth is the unrounded mean of the senior and junior doctors, or the
// senior doctor's points alone (isbi_annotators::senior).
//
// Both annotation folders hold all 400 files, so the number is the key: an
// image whose number lies outside its folder's range would silently take
// another image's points, and is an error. Every problem is a data_error
// naming the file (and the line: "<file>:<line>: ..."). parse_isbi_points
// takes the text, not a path, so tests feed it memory.
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <mixtrain/data/aariz_reader.hpp>
#include <mixtrain/data/annotation.hpp>
#include <mixtrain/data/image_file.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::data {

// Whose points are the ground truth.
enum class isbi_annotators {
  mean,    // the unrounded mean of the senior and junior doctors (both files required)
  senior,  // the senior doctor alone (the junior folder is not read)
};

struct isbi_read_options {
  isbi_annotators annotators = isbi_annotators::mean;
  double pixel_size_mm = 0.1;  // the challenge's: the same for every image
};

namespace isbi_layout {

inline constexpr std::size_t landmark_count = 19;

// The challenge's landmarks in file order, with their conventional symbols.
inline constexpr std::array<std::string_view, landmark_count> symbols = {
    "S", "N", "Or", "Po", "A", "B", "Pog", "Me", "Gn", "Go", "LIT", "UIT", "UL", "LL", "Sn", "Pog'", "PNS", "ANS", "Ar"};
inline constexpr std::array<std::string_view, landmark_count> titles = {
    "Sella",        "Nasion",          "Orbitale",     "Porion",
    "Subspinale",   "Supramentale",    "Pogonion",     "Menton",
    "Gnathion",     "Gonion",          "Lower incisal incision",
    "Upper incisal incision",          "Upper lip",    "Lower lip",
    "Subnasale",    "Soft tissue pogonion",            "Posterior nasal spine",
    "Anterior nasal spine",            "Articulare"};

inline constexpr std::string_view senior_folder = "400_senior";
inline constexpr std::string_view junior_folder = "400_junior";

// A split: the image folder, the numbers that folder holds, and the numbers
// of this split within it.
struct split_spec {
  std::string_view name;
  std::string_view folder;
  int folder_first, folder_last;
  int first, last;
};

inline constexpr std::array<split_spec, 4> splits = {{
    {"train", "TrainingData", 1, 150, 1, 130},
    {"valid", "TrainingData", 1, 150, 131, 150},
    {"test", "Test1Data", 151, 300, 151, 300},
    {"test2", "Test2Data", 301, 400, 301, 400},
}};

MIXTRAIN_COLD landmark_set landmarks();

MIXTRAIN_COLD std::filesystem::path images_dir(const std::filesystem::path& root, std::string_view folder);
MIXTRAIN_COLD std::filesystem::path annotations_dir(const std::filesystem::path& root, std::string_view annotator_folder);

}  // namespace isbi_layout

namespace detail {

// "001" -> 1; nullopt unless the stem is all digits (and short enough to be a number).
MIXTRAIN_COLD std::optional<int> isbi_number(const std::string& stem);

MIXTRAIN_COLD std::string three_digits(int n);

MIXTRAIN_COLD std::string isbi_range(int first, int last);

MIXTRAIN_COLD std::string isbi_split_names();

MIXTRAIN_COLD double isbi_coordinate(std::string_view cell, std::string_view axis, std::size_t landmark,
                                     const std::filesystem::path& file, std::size_t line);

}  // namespace detail

// The 19 points of one annotation file, in file order. Lines 1-19 must be
// "x,y" (spaces around the numbers, CRLF and a UTF-8 byte-order mark are
// accepted); whatever follows (the classification labels) is not read.
MIXTRAIN_COLD std::vector<point> parse_isbi_points(std::string_view text, const std::filesystem::path& file);

namespace detail {

// Annotation files whose number belongs to this split must have their image,
// or a misnamed image would drop out of the split without a word. Other
// files in the folder must be ISBI annotations at all.
MIXTRAIN_COLD void check_isbi_annotations_have_images(const std::filesystem::path& dir, const isbi_layout::split_spec& spec,
                                                      const std::map<std::string, std::filesystem::path>& images,
                                                      const std::filesystem::path& image_dir);

}  // namespace detail

// Reads one split ("train", "valid", "test", "test2"). `landmarks` is filled
// with the 19 ISBI symbols when empty; a different set (e.g. from another
// dataset's checkpoint) is an error naming the dataset.
MIXTRAIN_COLD split read_isbi_split(const std::filesystem::path& root, const std::string& split_name, landmark_set& landmarks,
                                    const isbi_read_options& options = {});

}  // namespace mixtrain::data

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/data/impl/isbi_reader.ipp>
#endif
