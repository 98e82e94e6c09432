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

inline std::optional<int> positive_int_field(const nlohmann::json& json, const char* name, const std::filesystem::path& file) {
  const auto it = json.find(name);
  if (it == json.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer() || it->get<std::int64_t>() <= 0 || it->get<std::int64_t>() > 1'000'000)
    field_error(file, name, "must be a positive whole number of pixels, found " + it->dump());
  return it->get<int>();
}

}  // namespace detail

// Parses one labelme file from memory (tests and fuzzers feed it text).
inline labelme_file parse_labelme_json(std::string_view text, const std::filesystem::path& file) {
  using detail::field_error;
  const auto json = detail::parse_json_text(text, file);
  if (!json.is_object()) field_error(file, "shapes", std::string("missing: the file holds a JSON ") + json.type_name() + ", not an object");
  labelme_file out;
  for (const char* name : {"imagePath", "imageData"}) {
    const auto it = json.find(name);
    if (it == json.end() || it->is_null()) continue;
    if (!it->is_string()) field_error(file, name, std::string("must be a string or null, found ") + it->type_name());
    if (std::string_view(name) == "imagePath") out.image_path = it->get<std::string>();
    else out.embedded_image = !it->get_ref<const std::string&>().empty();
  }
  out.width = detail::positive_int_field(json, "imageWidth", file);
  out.height = detail::positive_int_field(json, "imageHeight", file);
  const auto shapes = json.find("shapes");
  if (shapes == json.end()) field_error(file, "shapes", "missing");
  if (!shapes->is_array()) field_error(file, "shapes", std::string("must be an array, found ") + shapes->type_name());
  for (std::size_t k = 0; k < shapes->size(); ++k) {
    const auto& shape = (*shapes)[k];
    const auto at = "shapes[" + std::to_string(k) + "]";
    if (!shape.is_object()) field_error(file, at, std::string("must be an object, found ") + shape.type_name());
    const auto points = shape.find("points");
    if (points == shape.end()) field_error(file, at + ".points", "missing");
    if (!points->is_array()) field_error(file, at + ".points", std::string("must be an array, found ") + points->type_name());
    // Old labelme versions wrote no shape_type: one point is a point, more a polygon (labelme's default).
    std::string type = points->size() == 1 ? "point" : "polygon";
    if (const auto t = shape.find("shape_type"); t != shape.end() && !t->is_null()) {
      if (!t->is_string()) field_error(file, at + ".shape_type", std::string("must be a string, found ") + t->type_name());
      type = t->get<std::string>();
    }
    if (type != "point") {
      ++out.ignored[type];
      continue;
    }
    const auto label = shape.find("label");
    if (label == shape.end()) field_error(file, at + ".label", "missing");
    if (!label->is_string()) field_error(file, at + ".label", std::string("must be a string, found ") + label->type_name());
    const auto name = std::string(detail::trim(label->get_ref<const std::string&>()));  // "S " is "S"
    if (name.empty()) field_error(file, at + ".label", "is empty");
    if (points->size() != 1)
      field_error(file, at + ".points", "a point shape holds one [x, y] pair, found " + std::to_string(points->size()));
    const auto& pair = (*points)[0];
    if (!pair.is_array() || pair.size() != 2) field_error(file, at + ".points[0]", "must be [x, y], found " + pair.dump());
    out.points.push_back({name,
                          {detail::finite_number(pair[0], file, at + ".points[0][0]"),
                           detail::finite_number(pair[1], file, at + ".points[0][1]")},
                          k});
  }
  return out;
}

inline labelme_file parse_labelme_file(const std::filesystem::path& file) {
  return parse_labelme_json(detail::read_text_file(file), file);
}

// symbols.txt: one symbol per line, blank lines and '#' comments skipped.
inline landmark_set parse_labelme_symbols(std::string_view text, const std::filesystem::path& file) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  landmark_set set;
  std::map<std::string, std::size_t> seen;
  for (std::size_t number = 1; !text.empty(); ++number) {
    const auto end = text.find('\n');
    const auto line = detail::trim(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.empty() || line.starts_with('#')) continue;
    const std::string symbol(line);
    if (const auto [it, fresh] = seen.emplace(symbol, number); !fresh)
      throw data_error(file, number, "symbol '" + symbol + "' again (line " + std::to_string(it->second) + ")");
    set.symbols.push_back(symbol);
    set.titles.push_back(symbol);
  }
  if (set.symbols.empty()) throw data_error(file, "lists no symbols (one landmark symbol per line)");
  return set;
}

namespace detail {

// A split folder's .json files by name; hidden files are skipped.
inline std::vector<std::filesystem::path> labelme_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.is_regular_file() && !entry.path().filename().string().starts_with(".") &&
        lowercase(entry.path().extension().string()) == ".json")
      files.push_back(entry.path());
  std::ranges::sort(files);
  return files;
}

inline landmark_set label_union(const std::vector<labelme_file>& files) {
  std::set<std::string> labels;
  for (const auto& f : files)
    for (const auto& p : f.points) labels.insert(p.label);
  landmark_set set;
  for (const auto& l : labels) {
    set.symbols.push_back(l);
    set.titles.push_back(l);
  }
  return set;
}

// imagePath against the JSON's folder; a Windows-written "..\\img.png" is tried with '/'.
inline std::filesystem::path labelme_image(const labelme_file& f, const std::filesystem::path& json) {
  namespace fs = std::filesystem;
  const std::string embedded = f.embedded_image ? "; the embedded imageData is not decoded: save the image as a file and "
                                                  "set imagePath (labelme: File > Save With Image Data off)"
                                                : "";
  if (f.image_path.empty()) field_error(json, "imagePath", "missing or empty" + embedded);
  auto resolve = [&](const std::string& written) {
    const fs::path p(written);
    return p.is_absolute() ? p : json.parent_path() / p;
  };
  auto path = resolve(f.image_path);
  if (!fs::exists(path) && f.image_path.find('\\') != std::string::npos) {
    auto slashed = f.image_path;
    std::ranges::replace(slashed, '\\', '/');
    if (fs::exists(resolve(slashed))) path = resolve(slashed);
  }
  if (!fs::is_regular_file(path))
    field_error(json, "imagePath", "image '" + f.image_path + "' not found (looked for " + path.string() + ")" + embedded);
  return path;
}

}  // namespace detail

// The dataset's symbols.txt, if it has one.
inline std::optional<landmark_set> read_labelme_symbols(const std::filesystem::path& root) {
  const auto file = root / labelme_layout::symbols_file;
  if (!std::filesystem::exists(file)) return std::nullopt;
  return parse_labelme_symbols(detail::read_text_file(file), file);
}

// Reads one split ("train", "valid", "test"). `landmarks` empty: filled with
// the dataset's set (symbols.txt, else the union over train/, else over this
// split when there is no train/). Given (a checkpoint's): it must equal
// symbols.txt when there is one.
inline labelme_result read_labelme_split(const std::filesystem::path& root, const std::string& split_name,
                                         landmark_set& landmarks, const labelme_read_options& options = {}) {
  namespace fs = std::filesystem;
  if (!(options.pixel_size_mm > 0) || !std::isfinite(options.pixel_size_mm))
    throw data_error(root, "the labelme pixel size must be a positive number of millimetres");
  const auto dir = root / split_name;
  if (!fs::is_directory(dir))
    throw data_error(dir, "missing folder of split '" + split_name + "' (labelme layout: <dataset>/{train,valid,test}/*.json)");
  const auto paths = detail::labelme_files(dir);
  if (paths.empty()) throw data_error(dir, "split '" + split_name + "' holds no labelme .json files");
  std::vector<labelme_file> files;
  for (const auto& p : paths) files.push_back(parse_labelme_file(p));

  const auto listed = read_labelme_symbols(root);
  const auto symbols_path = root / labelme_layout::symbols_file;
  if (listed && !landmarks.symbols.empty() && landmarks.symbols != listed->symbols)
    throw data_error(symbols_path, "lists " + std::to_string(listed->size()) + " landmarks, other than the " +
                                       std::to_string(landmarks.size()) + " asked for (a checkpoint trained on another set?)");
  if (landmarks.symbols.empty()) {
    if (listed) landmarks = *listed;
    else if (split_name == "train" || !fs::is_directory(root / "train")) landmarks = detail::label_union(files);
    else {
      std::vector<labelme_file> train;
      for (const auto& p : detail::labelme_files(root / "train")) train.push_back(parse_labelme_file(p));
      landmarks = detail::label_union(train);
    }
    if (landmarks.symbols.empty())
      throw data_error(dir, "no labelled point shapes to take the landmark set from (or list it in " +
                                std::string(labelme_layout::symbols_file) + ")");
  }
  std::map<std::string, std::size_t> channel;
  for (std::size_t k = 0; k < landmarks.size(); ++k) channel.emplace(landmarks.symbols[k], k);

  labelme_result out{{split_name, {}}, {split_name, files.size(), {}, {}, {}, {}}};
  for (std::size_t f = 0; f < files.size(); ++f) {
    const auto& file = files[f];
    const auto& json = paths[f];
    annotated_image image;
    image.id = json.stem().string();
    image.image_path = detail::labelme_image(file, json);
    // Empty, non-image and oversized files are refused here, before training.
    const auto header = checked_image_header(image.image_path);
    image.width = header.size.width;
    image.height = header.size.height;
    image.pixel_size_mm = detail::header_pixel_size(header).value_or(options.pixel_size_mm);
    // A JSON made for a resized copy of the image would put every point off.
    for (const auto& [field, written, actual] :
         {std::tuple{"imageWidth", file.width, image.width}, std::tuple{"imageHeight", file.height, image.height}})
      if (written && *written != actual)
        detail::field_error(json, field, std::to_string(*written) + " but the image " + image.image_path.string() + " is " +
                                             std::to_string(image.width) + "x" + std::to_string(image.height));

    std::vector<point> sum(landmarks.size());
    std::vector<std::vector<std::size_t>> marks(landmarks.size());  // shape indices per channel
    std::set<std::string> unlisted;
    for (const auto& p : file.points) {
      const auto at = "shapes[" + std::to_string(p.shape) + "]";
      const auto k = channel.find(p.label);
      if (k == channel.end()) {
        if (listed) {
          unlisted.insert(p.label);
          continue;
        }
        detail::field_error(json, at + ".label", "'" + p.label + "' is not a landmark of this dataset (the labels of train/: " +
                                                     std::to_string(landmarks.size()) + ", from " + landmarks.symbols.front() +
                                                     " to " + landmarks.symbols.back() + "); list the set in " +
                                                     std::string(labelme_layout::symbols_file) + " to choose it");
      }
      // One pixel of slack either side, as for Aariz: tools differ on pixel centres and edges.
      if (p.at.x < -1 || p.at.y < -1 || p.at.x > image.width + 1 || p.at.y > image.height + 1)
        detail::field_error(json, at + ".points[0]",
                            "'" + p.label + "' at (" + std::to_string(p.at.x) + ", " + std::to_string(p.at.y) +
                                ") lies outside the " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                                " image " + image.image_path.string());
      sum[k->second].x += p.at.x;
      sum[k->second].y += p.at.y;
      marks[k->second].push_back(p.shape);
    }
    std::string repeated, missing;
    image.landmarks.resize(landmarks.size());
    image.present.resize(landmarks.size());
    for (std::size_t k = 0; k < landmarks.size(); ++k) {
      const auto n = marks[k].size();
      if (n > 1 && options.repeated == repeated_labels::reject) {
        std::string where;
        for (const auto s : marks[k]) where += (where.empty() ? "shapes[" : ", shapes[") + std::to_string(s) + "]";
        detail::field_error(json, "shapes", "label '" + landmarks.symbols[k] + "' is marked " + std::to_string(n) + " times (" +
                                                where + "); --repeated_labels average takes their mean");
      }
      if (n > 1) repeated += (repeated.empty() ? "" : ", ") + landmarks.symbols[k] + " x" + std::to_string(n);
      if (n == 0) missing += (missing.empty() ? "" : ", ") + landmarks.symbols[k];
      image.present[k] = n > 0 ? 1 : 0;
      if (n > 0) image.landmarks[k] = {sum[k].x / static_cast<double>(n), sum[k].y / static_cast<double>(n)};
    }
    const auto name = json.filename().string();
    if (!repeated.empty()) out.report.repeated.push_back({name, repeated});
    if (!missing.empty()) out.report.missing.push_back({name, missing});
    if (!unlisted.empty()) {
      std::string labels;
      for (const auto& l : unlisted) labels += (labels.empty() ? "" : ", ") + l;
      out.report.unlisted.push_back({name, labels});
    }
    if (!file.ignored.empty()) {
      std::string shapes;
      for (const auto& [type, count] : file.ignored) shapes += (shapes.empty() ? "" : ", ") + std::to_string(count) + " " + type;
      out.report.ignored.push_back({name, shapes});
    }
    out.data.images.push_back(std::move(image));
  }
  return out;
}

}  // namespace mixtrain::data
