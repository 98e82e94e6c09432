#pragma once
// Definitions of the functions declared in <mixtrain/data/aariz_reader.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/data/aariz_reader.hpp>

namespace mixtrain::data {
namespace aariz_layout {

MIXTRAIN_COLD std::filesystem::path images_dir(const std::filesystem::path& root, const std::string& split) {
  return root / split / "Cephalograms";
}

MIXTRAIN_COLD std::filesystem::path landmarks_dir(const std::filesystem::path& root, const std::string& split,
                                                  const std::string& annotator) {
  return root / split / "Annotations" / "Cephalometric Landmarks" / annotator;
}

MIXTRAIN_COLD std::filesystem::path cvm_dir(const std::filesystem::path& root, const std::string& split) {
  return root / split / "Annotations" / "CVM Stages";
}

}  // namespace aariz_layout

namespace detail {

MIXTRAIN_COLD std::string lowercase(std::string s) {
  std::ranges::transform(s, s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

MIXTRAIN_COLD std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

MIXTRAIN_COLD std::string read_text_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw data_error(file, "cannot open file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw data_error(file, "cannot read file");
  return std::move(text).str();
}

MIXTRAIN_COLD nlohmann::json parse_json_text(std::string_view text, const std::filesystem::path& file) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    const auto upto = std::min<std::size_t>(e.byte, text.size());
    const auto line = 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(upto), '\n'));
    throw data_error(file, line, std::string("broken JSON: ") + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw data_error(file, std::string("broken JSON: ") + e.what());
  }
}

MIXTRAIN_COLD nlohmann::json read_json_file(const std::filesystem::path& file) {
  return parse_json_text(read_text_file(file), file);
}

MIXTRAIN_COLD double finite_number(const nlohmann::json& j, const std::filesystem::path& file, const std::string& field) {
  if (!j.is_number()) field_error(file, field, std::string("must be a number, found ") + j.type_name());
  const double v = j.get<double>();
  if (!std::isfinite(v)) field_error(file, field, "must be a finite number");
  return v;
}

MIXTRAIN_COLD landmark_file parse_landmark_json(std::string_view text, const std::filesystem::path& file) {
  const auto json = parse_json_text(text, file);
  if (!json.is_object()) field_error(file, "landmarks", std::string("missing: the file holds a JSON ") + json.type_name() + ", not an object");
  const auto found = json.find("landmarks");
  if (found == json.end()) field_error(file, "landmarks", "missing");
  const auto& landmarks = *found;
  if (!landmarks.is_array()) field_error(file, "landmarks", std::string("must be an array, found ") + landmarks.type_name());
  if (landmarks.empty()) field_error(file, "landmarks", "the list is empty");
  landmark_file out;
  std::map<std::string, std::size_t> seen;
  for (std::size_t k = 0; k < landmarks.size(); ++k) {
    const auto& entry = landmarks[k];
    const auto at = "landmarks[" + std::to_string(k) + "]";
    if (!entry.is_object()) field_error(file, at, std::string("must be an object, found ") + entry.type_name());
    const auto symbol = entry.find("symbol");
    if (symbol == entry.end()) field_error(file, at + ".symbol", "missing");
    if (!symbol->is_string() || symbol->get_ref<const std::string&>().empty())
      field_error(file, at + ".symbol", "must be a non-empty string");
    const auto& name = symbol->get_ref<const std::string&>();
    if (const auto [it, fresh] = seen.emplace(name, k); !fresh)
      field_error(file, at + ".symbol", "'" + name + "' appears twice (also landmarks[" + std::to_string(it->second) + "])");
    const auto title = entry.find("title");
    out.symbols.push_back(name);
    out.titles.push_back(title != entry.end() && title->is_string() ? title->get<std::string>() : name);
    const auto value = entry.find("value");
    if (value == entry.end()) field_error(file, at + ".value", "missing (null marks a landmark the annotator did not see)");
    if (!value->is_null() && !value->is_object())
      field_error(file, at + ".value", std::string("must be an object {x, y} or null, found ") + value->type_name());
    out.marked.push_back(!value->is_null());
    if (value->is_null()) {
      out.points.push_back({});
      continue;
    }
    point p;
    for (const char* axis : {"x", "y"}) {
      const auto c = value->find(axis);
      if (c == value->end()) field_error(file, at + ".value." + axis, "missing");
      (axis[0] == 'x' ? p.x : p.y) = finite_number(*c, file, at + ".value." + axis);
    }
    out.points.push_back(p);
  }
  return out;
}

MIXTRAIN_COLD landmark_file parse_landmark_file(const std::filesystem::path& file) {
  return parse_landmark_json(read_text_file(file), file);
}

MIXTRAIN_COLD int parse_cvm_json(std::string_view text, const std::filesystem::path& file) {
  const auto json = parse_json_text(text, file);
  if (!json.is_object() || !json.contains("cvm_stage")) field_error(file, "cvm_stage", "missing");
  const auto& stage = json["cvm_stage"];
  if (!stage.is_object() || !stage.contains("value")) field_error(file, "cvm_stage.value", "missing");
  const auto& value = stage["value"];
  if (!value.is_number_integer() || value.get<std::int64_t>() < 0 || value.get<std::int64_t>() > 1000)
    field_error(file, "cvm_stage.value", "must be a small non-negative integer, found " + value.dump());
  return value.get<int>();
}

MIXTRAIN_COLD std::map<std::string, machine_row> parse_machine_mappings(std::string_view text, const std::filesystem::path& csv) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // spreadsheet programs write a BOM
  auto next_line = [&text]() {
    const auto end = text.find('\n');
    auto line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    return line;
  };
  auto cells_of = [](std::string_view line) {
    std::vector<std::string_view> cells;
    for (std::size_t start = 0;;) {
      const auto comma = line.find(',', start);
      cells.push_back(trim(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
      if (comma == std::string_view::npos) return cells;
      start = comma + 1;
    }
  };
  if (trim(text).empty()) throw data_error(csv, "the file is empty (expected a header naming cephalogram_id and pixel_size)");
  const auto header = cells_of(next_line());
  std::vector<std::string> columns;
  for (const auto c : header) columns.push_back(lowercase(std::string(c)));
  const auto id_col = static_cast<std::size_t>(std::ranges::find(columns, "cephalogram_id") - columns.begin());
  const auto size_col = static_cast<std::size_t>(std::ranges::find(columns, "pixel_size") - columns.begin());
  const auto machine_col = static_cast<std::size_t>(std::ranges::find(columns, "machine") - columns.begin());
  if (id_col == columns.size() || size_col == columns.size()) {
    std::string found;
    for (const auto& c : columns) found += (found.empty() ? "'" : ", '") + c + "'";
    throw data_error(csv, 1, "header must name the columns cephalogram_id and pixel_size; found " + found);
  }
  std::map<std::string, machine_row> rows;
  std::map<std::string, std::size_t> first_line;
  for (std::size_t number = 2; !text.empty(); ++number) {
    const auto line = next_line();
    if (trim(line).empty()) continue;
    const auto cells = cells_of(line);
    if (cells.size() <= std::max(id_col, size_col))
      throw data_error(csv, number, std::to_string(cells.size()) + " cells, too few: pixel_size is column " +
                                        std::to_string(size_col + 1) + " and cephalogram_id column " + std::to_string(id_col + 1));
    const std::string id(cells[id_col]);
    if (id.empty()) throw data_error(csv, number, "cephalogram_id is empty");
    const auto cell = cells[size_col];
    double size = 0;
    const auto [end, error] = std::from_chars(cell.data(), cell.data() + cell.size(), size);
    if (cell.empty() || error != std::errc{} || end != cell.data() + cell.size() || !std::isfinite(size))
      throw data_error(csv, number, "pixel_size '" + std::string(cell) + "' is not a number");
    if (!(size > 0)) throw data_error(csv, number, "pixel_size " + std::string(cell) + " must be positive");
    // The machine column is optional: a row too short for it names none.
    machine_row row{size, machine_col < cells.size() ? std::string(cells[machine_col]) : std::string()};
    if (const auto [it, fresh] = rows.emplace(id, std::move(row)); !fresh && it->second.pixel_size != size)
      throw data_error(csv, number, "cephalogram_id '" + id + "' again, with pixel_size " + std::string(cell) +
                                        " (line " + std::to_string(first_line[id]) + " gave another)");
    first_line.emplace(id, number);
  }
  return rows;
}

MIXTRAIN_COLD std::map<std::string, double> parse_pixel_sizes(std::string_view text, const std::filesystem::path& csv) {
  std::map<std::string, double> sizes;
  for (const auto& [id, row] : parse_machine_mappings(text, csv)) sizes.emplace(id, row.pixel_size);
  return sizes;
}

MIXTRAIN_COLD std::map<std::string, machine_row> read_machine_mappings(const std::filesystem::path& csv) {
  if (!std::filesystem::is_regular_file(csv)) throw data_error(csv, "cannot open the machine mappings file");
  return parse_machine_mappings(read_text_file(csv), csv);
}

MIXTRAIN_COLD std::map<std::string, double> read_pixel_sizes(const std::filesystem::path& csv) {
  std::map<std::string, double> sizes;
  for (const auto& [id, row] : read_machine_mappings(csv)) sizes.emplace(id, row.pixel_size);
  return sizes;
}

MIXTRAIN_COLD double merge_coordinate(const std::vector<double>& values, annotator_merge merge) {
  double sum = 0;
  for (const double v : values) sum += v;
  if (merge == annotator_merge::mean) return sum / static_cast<double>(values.size());
  // The official loader: float32 arrays, 0.5 * (junior + senior), np.ceil.
  float f = 0;
  for (const double v : values) f += static_cast<float>(v);
  return std::ceil(values.size() == 2 ? 0.5f * f : f / static_cast<float>(values.size()));
}

MIXTRAIN_COLD std::optional<std::filesystem::path> find_annotation(const std::filesystem::path& dir, const std::string& id) {
  const auto path = dir / (id + ".json");
  if (std::filesystem::exists(path)) return path;
  return std::nullopt;
}

MIXTRAIN_COLD std::map<std::string, std::filesystem::path> list_images(const std::filesystem::path& image_dir) {
  namespace fs = std::filesystem;
  std::map<std::string, fs::path> images;
  for (const auto& entry : fs::directory_iterator(image_dir)) {
    const auto& file = entry.path();
    if (!entry.is_regular_file() || file.filename().string().starts_with(".")) continue;
    const auto ext = lowercase(file.extension().string());
    // image_file.hpp lists the extensions taken (.dcm only with dicom.hpp included).
    if (auto problem = untaken_extension_problem(ext, ext.empty() ? file.filename().string() : ext); !problem.empty())
      throw data_error(file, problem);
    if (const auto [it, fresh] = images.emplace(file.stem().string(), file); !fresh)
      throw data_error(file, "a second image for cephalogram '" + it->first + "' (also " + it->second.filename().string() + ")");
  }
  return images;
}

MIXTRAIN_COLD void check_annotations_have_images(const std::filesystem::path& dir,
                                                 const std::map<std::string, std::filesystem::path>& images,
                                                 const std::filesystem::path& image_dir) {
  if (!std::filesystem::is_directory(dir)) return;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const auto& file = entry.path();
    if (!entry.is_regular_file() || lowercase(file.extension().string()) != ".json") continue;
    if (!images.contains(file.stem().string()))
      throw data_error(file, "annotation without an image: no " + file.stem().string() + ".png, .jpg, .jpeg or .bmp in " +
                                 image_dir.string());
  }
}

}  // namespace detail

MIXTRAIN_COLD split read_aariz_split(const std::filesystem::path& root, const std::string& split_name,
                                     landmark_set& landmarks, const aariz_read_options& options) {
  namespace fs = std::filesystem;
  const auto image_dir = aariz_layout::images_dir(root, split_name);
  if (!fs::is_directory(image_dir)) throw data_error(image_dir, "missing image directory of split '" + split_name + "'");
  const auto mapping = root / aariz_layout::mapping_file;
  const auto machines = detail::read_machine_mappings(mapping);
  const auto image_files = detail::list_images(image_dir);
  if (image_files.empty()) throw data_error(image_dir, "split '" + split_name + "' holds no images");
  for (const auto& annotator : aariz_layout::annotators)
    detail::check_annotations_have_images(aariz_layout::landmarks_dir(root, split_name, annotator), image_files, image_dir);
  detail::check_annotations_have_images(aariz_layout::cvm_dir(root, split_name), image_files, image_dir);

  std::vector<fs::path> in_order;  // by file name, as the dataset's indices always were
  for (const auto& [id, file] : image_files) in_order.push_back(file);
  std::ranges::sort(in_order);

  split out{split_name, {}};
  for (const auto& image_file : in_order) {
    annotated_image image;
    image.id = image_file.stem().string();
    image.image_path = image_file;
    const auto row = machines.find(image.id);
    if (row == machines.end()) throw data_error(mapping, "no row for cephalogram '" + image.id + "'");
    image.pixel_size_mm = row->second.pixel_size;
    image.device = row->second.machine;
    // Empty, non-image and oversized files are refused here, before training.
    const auto header = checked_image_header(image_file);
    image.width = header.size.width;
    image.height = header.size.height;

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
    // Each annotator's point per symbol of the set (nullopt: not marked).
    std::vector<std::vector<std::optional<point>>> marked(files.size(), std::vector<std::optional<point>>(count));
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
        const auto p = files[f].points[k];
        // One pixel of slack either side: tools differ on whether pixel
        // centres or edges lie on integers.
        if (p.x < -1 || p.y < -1 || p.x > image.width + 1 || p.y > image.height + 1)
          detail::field_error(paths[f], "landmarks[" + std::to_string(k) + "].value",
                              "(" + std::to_string(p.x) + ", " + std::to_string(p.y) + ") lies outside the " +
                                  std::to_string(image.width) + "x" + std::to_string(image.height) + " image " +
                                  image_file.string());
        marked[f][at] = p;
      }
    }
    image.landmarks.resize(count);
    image.present.resize(count);
    for (std::size_t k = 0; k < count; ++k) {
      std::vector<double> xs, ys;
      for (const auto& file_points : marked)
        if (file_points[k]) {
          xs.push_back(file_points[k]->x);
          ys.push_back(file_points[k]->y);
        }
      image.present[k] = xs.empty() ? 0 : 1;
      if (!xs.empty())
        image.landmarks[k] = {detail::merge_coordinate(xs, options.merge), detail::merge_coordinate(ys, options.merge)};
    }
    if (marked.size() == 2)
      for (std::size_t k = 0; k < count; ++k) {
        const auto& a = marked[0][k];
        const auto& b = marked[1][k];
        image.annotator_distance_px.push_back(a && b ? std::hypot(a->x - b->x, a->y - b->y)
                                                     : std::numeric_limits<double>::quiet_NaN());
      }

    if (auto cvm = detail::find_annotation(aariz_layout::cvm_dir(root, split_name), image.id))
      image.cvm_stage = detail::parse_cvm_json(detail::read_text_file(*cvm), *cvm);
    out.images.push_back(std::move(image));
  }
  return out;
}

}  // namespace mixtrain::data
