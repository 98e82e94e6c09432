#pragma once
// Reads the Aariz layout:
//   <root>/cephalogram_machine_mappings.csv  (cephalogram_id,machine,pixel_size,...)
//   <root>/<split>/Cephalograms/<id>.{png,jpg,jpeg,bmp}
//   <root>/<split>/Annotations/Cephalometric Landmarks/{Senior,Junior} Orthodontists/<id>.json
//   <root>/<split>/Annotations/CVM Stages/<id>.json   (optional)
// Ground truth is the mean of the annotators that marked a landmark: where one
// annotator gives null and the other a point, that point is the truth.
// annotator_merge::official_rounded rounds it up to whole pixels instead, as
// the dataset's own loader does (dataset.py in the Aariz repository:
// np.ceil(0.5 * (junior + senior)) in float32).
//
// Everything is checked before training starts, and every problem is a
// data_error naming the file and the line ("<file>:<line>: ...") or the JSON
// field ("<file>: field 'landmarks[3].value.x': ..."). The parsers take the
// text, not a path, so tests/fuzz feeds them memory.
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <mixtrain/data/annotation.hpp>
#include <mixtrain/data/image_file.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::data {

namespace aariz_layout {
inline const std::array<std::string, 2> annotators = {"Senior Orthodontists", "Junior Orthodontists"};
inline const std::array<std::string, 4> image_extensions = {".png", ".jpg", ".jpeg", ".bmp"};
inline const std::string mapping_file = "cephalogram_machine_mappings.csv";
MIXTRAIN_COLD std::filesystem::path images_dir(const std::filesystem::path& root, const std::string& split);
MIXTRAIN_COLD std::filesystem::path landmarks_dir(const std::filesystem::path& root, const std::string& split,
                                                  const std::string& annotator);
MIXTRAIN_COLD std::filesystem::path cvm_dir(const std::filesystem::path& root, const std::string& split);
}  // namespace aariz_layout

// How the two annotators' points become the ground truth.
enum class annotator_merge {
  mean,              // the unrounded mean (mixtrain's default)
  official_rounded,  // the mean rounded up per coordinate, in float32: the official loader's ceil
};

struct aariz_read_options {
  annotator_merge merge = annotator_merge::mean;
};

namespace detail {

MIXTRAIN_COLD std::string lowercase(std::string s);

MIXTRAIN_COLD std::string_view trim(std::string_view s);

MIXTRAIN_COLD std::string read_text_file(const std::filesystem::path& file);

// A JSON syntax error with the line it is on.
MIXTRAIN_COLD nlohmann::json parse_json_text(std::string_view text, const std::filesystem::path& file);

MIXTRAIN_COLD nlohmann::json read_json_file(const std::filesystem::path& file);

[[noreturn]] inline void field_error(const std::filesystem::path& file, const std::string& field, const std::string& what) {
  throw data_error(file, "field '" + field + "': " + what);
}

MIXTRAIN_COLD double finite_number(const nlohmann::json& j, const std::filesystem::path& file, const std::string& field);

struct landmark_file {
  std::vector<std::string> symbols;
  std::vector<std::string> titles;
  std::vector<point> points;
  std::vector<bool> marked;  // false where "value" is null: the annotator saw no landmark
};

// {"landmarks": [{"symbol": "A", "title": "...", "value": {"x": .., "y": ..} or null}, ...], ...}
MIXTRAIN_COLD landmark_file parse_landmark_json(std::string_view text, const std::filesystem::path& file);

MIXTRAIN_COLD landmark_file parse_landmark_file(const std::filesystem::path& file);

// {"cvm_stage": {"value": <int>, ...}, ...}
MIXTRAIN_COLD int parse_cvm_json(std::string_view text, const std::filesystem::path& file);

struct machine_row {
  double pixel_size = 0;
  std::string machine;  // empty when the file has no machine column
};

// The pixel size (and machine, when there is a `machine` column) of each
// cephalogram from the machine mappings CSV: a header naming cephalogram_id
// and pixel_size (any order, other columns ignored), then one row per image.
// LF or CRLF line endings, a UTF-8 byte-order mark and blank lines are
// accepted; a repeated id is accepted only with the same pixel size.
MIXTRAIN_COLD std::map<std::string, machine_row> parse_machine_mappings(std::string_view text, const std::filesystem::path& csv);

MIXTRAIN_COLD std::map<std::string, double> parse_pixel_sizes(std::string_view text, const std::filesystem::path& csv);

MIXTRAIN_COLD std::map<std::string, machine_row> read_machine_mappings(const std::filesystem::path& csv);

MIXTRAIN_COLD std::map<std::string, double> read_pixel_sizes(const std::filesystem::path& csv);

// One coordinate of the ground truth from the annotators that marked it.
MIXTRAIN_COLD double merge_coordinate(const std::vector<double>& values, annotator_merge merge);

MIXTRAIN_COLD std::optional<std::filesystem::path> find_annotation(const std::filesystem::path& dir, const std::string& id);

// The images of a split by id. A file in another format is an error naming
// it (never skipped silently); hidden files (".DS_Store") are ignored.
MIXTRAIN_COLD std::map<std::string, std::filesystem::path> list_images(const std::filesystem::path& image_dir);

// Every annotation must have its image: otherwise a typo in a file name
// would drop that cephalogram without a word.
MIXTRAIN_COLD void check_annotations_have_images(const std::filesystem::path& dir,
                                                 const std::map<std::string, std::filesystem::path>& images,
                                                 const std::filesystem::path& image_dir);

}  // namespace detail

// Reads one split. `landmarks` is the expected set; when it is empty, the
// first annotation file read defines it. A file with a different symbol set
// is an error naming that file.
MIXTRAIN_COLD split read_aariz_split(const std::filesystem::path& root, const std::string& split_name,
                                     landmark_set& landmarks, const aariz_read_options& options = {});

}  // namespace mixtrain::data

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/data/impl/aariz_reader.ipp>
#endif
