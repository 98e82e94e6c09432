#pragma once
// Reads folders of labelme JSON files (https://github.com/wkentaro/labelme),
// what clinics annotate with:
//   <root>/symbols.txt                optional: one landmark symbol per line, in channel order
//   <root>/{train,valid,test}/*.json  one labelme file per image, read in file-name order
// A labelme file: {"shapes": [{"label": "S", "points": [[x, y]], "shape_type":
// "point"}, ...], "imagePath": "...", "imageData": null or base64,
// "imageHeight": H, "imageWidth": W}. The image is imagePath resolved against
// the JSON's folder; embedded imageData is never decoded. Only point shapes
// are landmarks; other shapes (polygons, boxes) are ignored and counted.
//
// The landmark set is symbols.txt when present, else the sorted union of the
// point labels of the train split, so every split maps labels to the same
// channels. Real files repeat a label (averaged, or refused with
// repeated_labels::reject) or miss one (present = 0, weight 0): every such
// file is listed in the split's labelme_report, which the source prints as
// one warning. Every error is a data_error naming the file and the JSON
// field ("<file>: field 'shapes[3].points[0][1]': ...").
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <mixtrain/data/aariz_reader.hpp>
#include <mixtrain/data/annotation.hpp>
#include <mixtrain/data/image_file.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::data {

// What to do with a label marked more than once in one file.
enum class repeated_labels { average, reject };

struct labelme_read_options {
  double pixel_size_mm = 0.1;  // labelme stores none; an image's own spacing (DICOM) wins
  repeated_labels repeated = repeated_labels::average;
};

namespace labelme_layout {
inline constexpr std::string_view symbols_file = "symbols.txt";
inline constexpr std::array<std::string_view, 3> splits = {"train", "valid", "test"};
}  // namespace labelme_layout

// One point shape of a file; `shape` is its index in "shapes".
struct labelme_point {
  std::string label;
  point at;
  std::size_t shape = 0;
};

struct labelme_file {
  std::string image_path;              // 'imagePath' as written ("" when absent or null)
  bool embedded_image = false;         // 'imageData' holds base64
  std::optional<int> width, height;    // 'imageWidth', 'imageHeight' when given
  std::vector<labelme_point> points;   // point shapes in file order
  std::map<std::string, int> ignored;  // other shape types and their counts
};

// What a split's files did that the reader tolerated, file by file.
struct labelme_note {
  std::string file;  // the JSON's file name
  std::string what;  // "S x2, Go x3" / "Go, Me" / "2 polygon"
};

struct labelme_report {
  std::string split;
  std::size_t files = 0;
  std::vector<labelme_note> repeated;  // labels marked more than once (averaged)
  std::vector<labelme_note> missing;   // labels of the set not marked (present = 0)
  std::vector<labelme_note> unlisted;  // labels not in symbols.txt (ignored)
  std::vector<labelme_note> ignored;   // non-point shapes (ignored)

  [[nodiscard]] bool empty() const { return repeated.empty() && missing.empty() && unlisted.empty() && ignored.empty(); }

  // One line naming every file (the first 10 of each kind, then a count); "" when empty.
  [[nodiscard]] std::string warning() const {
    if (empty()) return "";
    std::string out = "warning: labelme " + split + " (" + std::to_string(files) + " files):";
    const char* separator = " ";
    // `one` and `many`: the verb phrase for one file and for several.
    auto part = [&](const std::vector<labelme_note>& notes, const std::string& one, const std::string& many) {
      if (notes.empty()) return;
      out += separator + std::to_string(notes.size()) + (notes.size() == 1 ? " file " + one : " files " + many) + " (";
      for (std::size_t i = 0; i < notes.size() && i < 10; ++i)
        out += (i ? "; " : "") + notes[i].file + ": " + notes[i].what;
      if (notes.size() > 10) out += "; ... " + std::to_string(notes.size() - 10) + " more";
      out += ")";
      separator = ", ";
    };
    part(repeated, "repeats a label, averaged", "repeat a label, averaged");
    part(missing, "misses labels, weight 0", "miss labels, weight 0");
    part(unlisted, "holds labels not in symbols.txt, ignored", "hold labels not in symbols.txt, ignored");
    part(ignored, "holds non-point shapes, ignored", "hold non-point shapes, ignored");
    return out;
  }
};

struct labelme_result {
  split data;
  labelme_report report;
};

namespace detail {

// The image's own pixel size once image_header carries one (DICOM); until
// then none, and the configured one applies.
template <class Header>
std::optional<double> header_pixel_size(const Header& h) {
  if constexpr (requires { h.pixel_size_mm; }) return h.pixel_size_mm;
  else return std::nullopt;
}

MIXTRAIN_COLD std::optional<int> positive_int_field(const nlohmann::json& json, const char* name, const std::filesystem::path& file);

}  // namespace detail

// Parses one labelme file from memory (tests and fuzzers feed it text).
MIXTRAIN_COLD labelme_file parse_labelme_json(std::string_view text, const std::filesystem::path& file);

MIXTRAIN_COLD labelme_file parse_labelme_file(const std::filesystem::path& file);

// symbols.txt: one symbol per line, blank lines and '#' comments skipped.
MIXTRAIN_COLD landmark_set parse_labelme_symbols(std::string_view text, const std::filesystem::path& file);

namespace detail {

// A split folder's .json files by name; hidden files are skipped.
MIXTRAIN_COLD std::vector<std::filesystem::path> labelme_files(const std::filesystem::path& dir);

MIXTRAIN_COLD landmark_set label_union(const std::vector<labelme_file>& files);

// imagePath against the JSON's folder; a Windows-written "..\\img.png" is tried with '/'.
MIXTRAIN_COLD std::filesystem::path labelme_image(const labelme_file& f, const std::filesystem::path& json);

}  // namespace detail

// The dataset's symbols.txt, if it has one.
MIXTRAIN_COLD std::optional<landmark_set> read_labelme_symbols(const std::filesystem::path& root);

// Reads one split ("train", "valid", "test"). `landmarks` empty: filled with
// the dataset's set (symbols.txt, else the union over train/, else over this
// split when there is no train/). Given (a checkpoint's): it must equal
// symbols.txt when there is one.
MIXTRAIN_COLD labelme_result read_labelme_split(const std::filesystem::path& root, const std::string& split_name,
                                                landmark_set& landmarks, const labelme_read_options& options = {});

}  // namespace mixtrain::data

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/data/impl/labelme_reader.ipp>
#endif
