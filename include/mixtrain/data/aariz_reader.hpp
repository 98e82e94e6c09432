#pragma once
// Reads the Aariz layout:
//   <root>/cephalogram_machine_mappings.csv  (cephalogram_id,machine,pixel_size,...)
//   <root>/<split>/Cephalograms/<id>.{png,jpg,jpeg,bmp}
//   <root>/<split>/Annotations/Cephalometric Landmarks/{Senior,Junior} Orthodontists/<id>.json
//   <root>/<split>/Annotations/CVM Stages/<id>.json   (optional)
// Ground truth is the mean of the annotators that marked a landmark.
#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <mixtrain/data/annotation.hpp>
#include <mixtrain/data/image_file.hpp>

namespace mixtrain::data {

namespace aariz_layout {
inline const std::array<std::string, 2> annotators = {"Senior Orthodontists", "Junior Orthodontists"};
inline const std::array<std::string, 4> image_extensions = {".png", ".jpg", ".jpeg", ".bmp"};
inline const std::string mapping_file = "cephalogram_machine_mappings.csv";
inline std::filesystem::path images_dir(const std::filesystem::path& root, const std::string& split) {
  return root / split / "Cephalograms";
}
inline std::filesystem::path landmarks_dir(const std::filesystem::path& root, const std::string& split,
                                           const std::string& annotator) {
  return root / split / "Annotations" / "Cephalometric Landmarks" / annotator;
}
inline std::filesystem::path cvm_dir(const std::filesystem::path& root, const std::string& split) {
  return root / split / "Annotations" / "CVM Stages";
}
}  // namespace aariz_layout

namespace detail {

inline std::string lowercase(std::string s) {
  std::ranges::transform(s, s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

inline nlohmann::json read_json_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw data_error(file, "cannot open file");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw data_error(file, std::string("broken JSON: ") + e.what());
  }
}

struct landmark_file {
  std::vector<std::string> symbols;
  std::vector<std::string> titles;
  std::vector<point> points;
  std::vector<bool> marked;  // false where "value" is null: the annotator saw no landmark
};

inline landmark_file parse_landmark_file(const std::filesystem::path& file) {
  const auto json = read_json_file(file);
  landmark_file out;
  try {
    const auto& landmarks = json.at("landmarks");
    if (!landmarks.is_array() || landmarks.empty()) throw data_error(file, "\"landmarks\" must be a non-empty array");
    for (const auto& entry : landmarks) {
      out.symbols.push_back(entry.at("symbol").get<std::string>());
      out.titles.push_back(entry.value("title", out.symbols.back()));
      const auto& value = entry.at("value");
      out.marked.push_back(!value.is_null());
      out.points.push_back(value.is_null() ? point{} : point{value.at("x").get<double>(), value.at("y").get<double>()});
    }
  } catch (const nlohmann::json::exception& e) {
    throw data_error(file, std::string("unexpected landmark JSON structure: ") + e.what());
  }
  return out;
}

inline std::map<std::string, double> read_pixel_sizes(const std::filesystem::path& csv) {
  std::ifstream in(csv);
  if (!in) throw data_error(csv, "cannot open the machine mappings file");
  std::string header;
  std::getline(in, header);
  std::vector<std::string> columns;
  {
    std::stringstream ss(header);
    for (std::string c; std::getline(ss, c, ',');) {
      while (!c.empty() && std::isspace(static_cast<unsigned char>(c.back()))) c.pop_back();
      columns.push_back(c);
    }
  }
  const auto id_col = std::ranges::find(columns, "cephalogram_id") - columns.begin();
  const auto size_col = std::ranges::find(columns, "pixel_size") - columns.begin();
  if (id_col == std::ssize(columns) || size_col == std::ssize(columns))
    throw data_error(csv, "header must name the columns cephalogram_id and pixel_size");
  std::map<std::string, double> sizes;
  int line_number = 1;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line.empty() || line == "\r") continue;
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    if (std::ssize(cells) <= std::max(id_col, size_col))
      throw data_error(csv, "line " + std::to_string(line_number) + " has too few columns");
    try {
      const double size = std::stod(cells[static_cast<std::size_t>(size_col)]);
      if (!(size > 0)) throw std::invalid_argument("not positive");
      sizes[cells[static_cast<std::size_t>(id_col)]] = size;
    } catch (const std::exception&) {
      throw data_error(csv, "line " + std::to_string(line_number) + ": pixel_size '" +
                                cells[static_cast<std::size_t>(size_col)] + "' is not a positive number");
    }
  }
  return sizes;
}

inline std::optional<std::filesystem::path> find_annotation(const std::filesystem::path& dir, const std::string& id) {
  const auto path = dir / (id + ".json");
  if (std::filesystem::exists(path)) return path;
  return std::nullopt;
}

}  // namespace detail

// Reads one split. `landmarks` is the expected set; when it is empty, the
// first annotation file read defines it. A file with a different symbol set
// is an error naming that file.
inline split read_aariz_split(const std::filesystem::path& root, const std::string& split_name,
                              landmark_set& landmarks) {
  namespace fs = std::filesystem;
  const auto image_dir = aariz_layout::images_dir(root, split_name);
  if (!fs::is_directory(image_dir)) throw data_error(image_dir, "missing image directory of split '" + split_name + "'");
  const auto mapping = root / aariz_layout::mapping_file;
  const auto pixel_sizes = detail::read_pixel_sizes(mapping);

  std::vector<fs::path> image_files;
  for (const auto& entry : fs::directory_iterator(image_dir)) {
    const auto ext = detail::lowercase(entry.path().extension().string());
    if (entry.is_regular_file() && std::ranges::find(aariz_layout::image_extensions, ext) != aariz_layout::image_extensions.end())
      image_files.push_back(entry.path());
  }
  std::ranges::sort(image_files);

  split out{split_name, {}};
  for (const auto& image_file : image_files) {
    annotated_image image;
    image.id = image_file.stem().string();
    image.image_path = image_file;
    const auto size = pixel_sizes.find(image.id);
    if (size == pixel_sizes.end()) throw data_error(mapping, "no row for cephalogram '" + image.id + "'");
    image.pixel_size_mm = size->second;
    if (const auto header = read_image_header_size(image_file)) {
      image.width = header->width;
      image.height = header->height;
    }

    std::vector<detail::landmark_file> files;
    std::vector<fs::path> paths;
    for (const auto& annotator : aariz_layout::annotators) {
      if (auto path = detail::find_annotation(aariz_layout::landmarks_dir(root, split_name, annotator), image.id)) {
        files.push_back(detail::parse_landmark_file(*path));
        paths.push_back(*path);
      }
    }
    if (files.empty())
      throw data_error(image_file, "no landmark annotation (expected " + image.id + ".json under '" +
                                       aariz_layout::landmarks_dir(root, split_name, aariz_layout::annotators[0]).string() +
                                       "' or the junior annotators' folder)");

    if (landmarks.symbols.empty()) landmarks = {files.front().symbols, files.front().titles};
    const auto count = landmarks.size();
    std::vector<point> sum(count);
    std::vector<int> marks(count, 0);
    for (std::size_t f = 0; f < files.size(); ++f) {
      auto sorted_file = files[f].symbols;
      auto sorted_expected = landmarks.symbols;
      std::ranges::sort(sorted_file);
      std::ranges::sort(sorted_expected);
      if (sorted_file != sorted_expected) {
        std::vector<std::string> missing, extra;
        std::ranges::set_difference(sorted_expected, sorted_file, std::back_inserter(missing));
        std::ranges::set_difference(sorted_file, sorted_expected, std::back_inserter(extra));
        std::string message = "landmark symbols disagree with the dataset's set";
        if (!missing.empty()) message += "; missing:";
        for (const auto& s : missing) message += " " + s;
        if (!extra.empty()) message += "; unexpected:";
        for (const auto& s : extra) message += " " + s;
        throw data_error(paths[f], message);
      }
      for (std::size_t k = 0; k < files[f].symbols.size(); ++k) {
        const auto at = static_cast<std::size_t>(std::ranges::find(landmarks.symbols, files[f].symbols[k]) -
                                                 landmarks.symbols.begin());
        if (!files[f].marked[k]) continue;
        sum[at].x += files[f].points[k].x;
        sum[at].y += files[f].points[k].y;
        ++marks[at];
      }
    }
    image.landmarks.resize(count);
    image.present.resize(count);
    for (std::size_t k = 0; k < count; ++k) {
      image.present[k] = marks[k] > 0 ? 1 : 0;
      if (marks[k] > 0) image.landmarks[k] = {sum[k].x / marks[k], sum[k].y / marks[k]};
    }

    if (auto cvm = detail::find_annotation(aariz_layout::cvm_dir(root, split_name), image.id)) {
      const auto json = detail::read_json_file(*cvm);
      try {
        image.cvm_stage = json.at("cvm_stage").at("value").get<int>();
      } catch (const nlohmann::json::exception& e) {
        throw data_error(*cvm, std::string("unexpected CVM JSON structure: ") + e.what());
      }
    }
    out.images.push_back(std::move(image));
  }
  if (out.images.empty()) throw data_error(image_dir, "split '" + split_name + "' holds no images");
  return out;
}

}  // namespace mixtrain::data
