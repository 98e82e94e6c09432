#pragma once
// A user data source, written outside the library: landmarks from plain CSV
// files, one per split, <dataset_path>/<split>.csv ("train", "valid", "test"):
//
//   image,pixel_size_mm,S_x,S_y,N_x,N_y,Me_x,Me_y
//   images/0001.png,0.1,812.5,640,1430,602,1322,1790
//   images/0002.png,,790,655,,,1301,1811
//
// - `image`: the image file, relative to the CSV's folder (or absolute);
// - `pixel_size_mm` (optional column; an empty cell or no column means the
//   configured default): millimetres per pixel, for the metrics;
// - one `<symbol>_x,<symbol>_y` pair per landmark, in original pixels (pixel
//   centres at integers); both cells empty: the landmark is missing.
// The landmark set comes from the first header read; other splits must name
// the same symbols (in any order). Every error names the file and the line.
//
// Everything after reading is the library's: records are data::split /
// data::annotated_image, and data::landmark_images (the Aariz source's base)
// decodes, letterboxes, augments and batches them. So the source produces
// data::batch and works with mt::task::landmark_heatmaps unchanged, and its
// preprocessing contract is the Aariz source's: a checkpoint trained on one
// evaluates on the other.
//
//   clinic::csv_landmarks<{.image_size = {256, 256}, .pixel_size_mm = 0.1}, mt::augment::affine<>, ...>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include <mixtrain/augment/concepts.hpp>
#include <mixtrain/core/flag_set.hpp>
#include <mixtrain/core/data_source.hpp>
#include <mixtrain/data/landmark_images.hpp>
#include <mixtrain/data/aariz_samples.hpp>
#include <mixtrain/data/annotation.hpp>
#include <mixtrain/data/geometry.hpp>
#include <mixtrain/data/image_file.hpp>

namespace clinic {

namespace mt = mixtrain;

struct csv_landmarks_config {
  mt::data::input_size image_size = {256, 256};
  double pixel_size_mm = 0.1;  // where the CSV has no pixel_size_mm cell
};

namespace csv_detail {

inline std::string trim(std::string s) {
  auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  s.erase(s.begin(), std::find_if_not(s.begin(), s.end(), space));
  s.erase(std::find_if_not(s.rbegin(), s.rend(), space).base(), s.end());
  return s;
}

// Plain comma-separated cells (no quoting: a quote is reported, not guessed at).
inline std::vector<std::string> cells_of(const std::string& line, const std::filesystem::path& file, int line_number) {
  if (line.find('"') != std::string::npos)
    throw mt::data::data_error(file, "line " + std::to_string(line_number) + ": quoted cells are not supported");
  std::vector<std::string> cells;
  std::string::size_type start = 0;
  while (true) {
    const auto comma = line.find(',', start);
    cells.push_back(trim(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return cells;
}

inline double number(const std::string& cell, const std::string& column, const std::filesystem::path& file,
                     int line_number) {
  try {
    std::size_t used = 0;
    const double value = std::stod(cell, &used);
    if (used == cell.size() && std::isfinite(value)) return value;
  } catch (const std::exception&) {
  }
  throw mt::data::data_error(file, "line " + std::to_string(line_number) + ": column '" + column + "' holds '" + cell +
                                       "', which is not a number");
}

// The header: where the image, the pixel size and each symbol's x and y are.
struct layout {
  std::size_t columns = 0;
  std::size_t image = 0;
  std::optional<std::size_t> pixel_size;
  std::vector<std::string> symbols;          // in header order
  std::vector<std::pair<std::size_t, std::size_t>> xy;  // per symbol, header order
};

inline layout read_header(const std::string& line, const std::filesystem::path& file) {
  const auto cells = cells_of(line, file, 1);
  layout out;
  out.columns = cells.size();
  std::map<std::string, std::pair<std::optional<std::size_t>, std::optional<std::size_t>>> pairs;
  std::optional<std::size_t> image;
  auto fail = [&](const std::string& what) { throw mt::data::data_error(file, "line 1 (header): " + what); };
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const auto& c = cells[i];
    if (c == "image") {
      if (image) fail("column 'image' appears twice");
      image = i;
    } else if (c == "pixel_size_mm") {
      if (out.pixel_size) fail("column 'pixel_size_mm' appears twice");
      out.pixel_size = i;
    } else if (c.size() > 2 && (c.ends_with("_x") || c.ends_with("_y"))) {
      const auto symbol = c.substr(0, c.size() - 2);
      auto& slot = c.back() == 'x' ? pairs[symbol].first : pairs[symbol].second;
      if (slot) fail("column '" + c + "' appears twice");
      slot = i;
      if (std::ranges::find(out.symbols, symbol) == out.symbols.end()) out.symbols.push_back(symbol);
    } else {
      fail("unexpected column '" + c + "' (expected image, pixel_size_mm and <symbol>_x,<symbol>_y pairs)");
    }
  }
  if (!image) fail("no column 'image'");
  out.image = *image;
  for (const auto& s : out.symbols) {
    const auto& [x, y] = pairs[s];
    if (!x || !y) fail("landmark '" + s + "' needs both columns " + s + "_x and " + s + "_y");
    out.xy.emplace_back(*x, *y);
  }
  if (out.symbols.empty()) fail("no landmark columns (<symbol>_x,<symbol>_y)");
  return out;
}

}  // namespace csv_detail

// Reads one CSV file into records. `landmarks` is the expected set; when
// empty, this file's header defines it.
inline mt::data::split read_landmark_csv(const std::filesystem::path& file, const std::string& split_name,
                                         mt::data::landmark_set& landmarks, double default_pixel_size_mm) {
  namespace fs = std::filesystem;
  using mt::data::data_error;
  std::ifstream in(file);
  if (!in) throw data_error(file, "cannot open the landmark CSV of split '" + split_name + "'");
  std::string line;
  if (!std::getline(in, line)) throw data_error(file, "empty file: expected a header line");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);  // a UTF-8 byte-order mark (spreadsheet exports)
  const auto header = csv_detail::read_header(line, file);

  // Column of each landmark of the expected set.
  if (landmarks.symbols.empty()) landmarks = {header.symbols, header.symbols};
  std::vector<std::pair<std::size_t, std::size_t>> columns(landmarks.size());
  {
    std::vector<std::string> missing, extra;
    for (std::size_t k = 0; k < landmarks.size(); ++k) {
      const auto at = std::ranges::find(header.symbols, landmarks.symbols[k]);
      if (at == header.symbols.end()) missing.push_back(landmarks.symbols[k]);
      else columns[k] = header.xy[static_cast<std::size_t>(at - header.symbols.begin())];
    }
    for (const auto& s : header.symbols)
      if (std::ranges::find(landmarks.symbols, s) == landmarks.symbols.end()) extra.push_back(s);
    if (!missing.empty() || !extra.empty()) {
      std::string message = "line 1 (header): landmark symbols disagree with the dataset's set";
      if (!missing.empty()) message += "; missing:";
      for (const auto& s : missing) message += " " + s;
      if (!extra.empty()) message += "; unexpected:";
      for (const auto& s : extra) message += " " + s;
      throw data_error(file, message);
    }
  }

  mt::data::split out{split_name, {}};
  int line_number = 1;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (csv_detail::trim(line).empty()) continue;
    const auto at = "line " + std::to_string(line_number) + ": ";
    const auto cells = csv_detail::cells_of(line, file, line_number);
    if (cells.size() != header.columns)
      throw data_error(file, at + std::to_string(cells.size()) + " cells, but the header has " +
                                 std::to_string(header.columns) + " columns");
    mt::data::annotated_image image;
    const auto& name = cells[header.image];
    if (name.empty()) throw data_error(file, at + "the image cell is empty");
    image.image_path = fs::path(name).is_absolute() ? fs::path(name) : file.parent_path() / name;
    image.id = name;
    if (!fs::is_regular_file(image.image_path))
      throw data_error(file, at + "image '" + name + "' not found (looked for " + image.image_path.string() + ")");
    const auto size = mt::data::read_image_header_size(image.image_path);
    if (!size) throw data_error(file, at + "image '" + name + "' is not a PNG, JPEG or BMP file");
    image.width = size->width;
    image.height = size->height;
    image.pixel_size_mm = default_pixel_size_mm;
    if (header.pixel_size && !cells[*header.pixel_size].empty()) {
      image.pixel_size_mm = csv_detail::number(cells[*header.pixel_size], "pixel_size_mm", file, line_number);
      if (!(image.pixel_size_mm > 0)) throw data_error(file, at + "pixel_size_mm must be positive");
    }
    image.landmarks.resize(landmarks.size());
    image.present.resize(landmarks.size());
    for (std::size_t k = 0; k < landmarks.size(); ++k) {
      const auto& s = landmarks.symbols[k];
      const auto& x = cells[columns[k].first];
      const auto& y = cells[columns[k].second];
      if (x.empty() != y.empty())
        throw data_error(file, at + "landmark '" + s + "' has only one coordinate (leave both cells empty when missing)");
      if (x.empty()) continue;
      image.landmarks[k] = {csv_detail::number(x, s + "_x", file, line_number),
                            csv_detail::number(y, s + "_y", file, line_number)};
      image.present[k] = 1;
    }
    out.images.push_back(std::move(image));
  }
  if (out.images.empty()) throw data_error(file, "no image rows after the header");
  return out;
}

template <csv_landmarks_config C = csv_landmarks_config{}, class... Augments>
struct csv_landmarks : mt::data::landmark_images<{.image_size = C.image_size}, Augments...> {
  static_assert(C.pixel_size_mm > 0, "csv_landmarks: pixel_size_mm must be positive.");
  using base = mt::data::landmark_images<{.image_size = C.image_size}, Augments...>;
  static constexpr std::string_view name = "csv_landmarks";

  double pixel_size_mm = C.pixel_size_mm;

  // A split is the file <root>/<split>.csv.
  static std::filesystem::path file_of(const std::filesystem::path& root, const std::string& split_name) {
    return root / (split_name + ".csv");
  }

  mt::data::split read_split(const std::filesystem::path& root, const std::string& split_name,
                             mt::data::landmark_set& landmarks) const {
    return read_landmark_csv(file_of(root, split_name), split_name, landmarks, pixel_size_mm);
  }

  [[nodiscard]] nlohmann::json describe() const {
    auto j = base::describe();
    j["name"] = name;
    j["layout"] = "<dataset_path>/<split>.csv: image,pixel_size_mm,<symbol>_x,<symbol>_y,...";
    j["pixel_size_mm"] = pixel_size_mm;
    return j;
  }

  // --image_size comes from the shared part; the default pixel size is this source's.
  void add_flags(mt::flag_set cli) {
    base::add_flags(cli);
    cli.add_option("--pixel_size_mm", pixel_size_mm, "mm per pixel where the CSV gives none")
        .check(mt::positive_number());
  }
};

}  // namespace clinic
