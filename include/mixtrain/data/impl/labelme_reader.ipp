#pragma once
// Definitions of the functions declared in <mixtrain/data/labelme_reader.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/data/labelme_reader.hpp>

namespace mixtrain::data {
namespace detail {

MIXTRAIN_COLD std::optional<int> positive_int_field(const nlohmann::json& json, const char* name, const std::filesystem::path& file) {
  const auto it = json.find(name);
  if (it == json.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer() || it->get<std::int64_t>() <= 0 || it->get<std::int64_t>() > 1'000'000)
    field_error(file, name, "must be a positive whole number of pixels, found " + it->dump());
  return it->get<int>();
}

}  // namespace detail

MIXTRAIN_COLD labelme_file parse_labelme_json(std::string_view text, const std::filesystem::path& file) {
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

MIXTRAIN_COLD labelme_file parse_labelme_file(const std::filesystem::path& file) {
  return parse_labelme_json(detail::read_text_file(file), file);
}

MIXTRAIN_COLD landmark_set parse_labelme_symbols(std::string_view text, const std::filesystem::path& file) {
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

MIXTRAIN_COLD std::vector<std::filesystem::path> labelme_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.is_regular_file() && !entry.path().filename().string().starts_with(".") &&
        lowercase(entry.path().extension().string()) == ".json")
      files.push_back(entry.path());
  std::ranges::sort(files);
  return files;
}

MIXTRAIN_COLD landmark_set label_union(const std::vector<labelme_file>& files) {
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

MIXTRAIN_COLD std::filesystem::path labelme_image(const labelme_file& f, const std::filesystem::path& json) {
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

MIXTRAIN_COLD std::optional<landmark_set> read_labelme_symbols(const std::filesystem::path& root) {
  const auto file = root / labelme_layout::symbols_file;
  if (!std::filesystem::exists(file)) return std::nullopt;
  return parse_labelme_symbols(detail::read_text_file(file), file);
}

MIXTRAIN_COLD labelme_result read_labelme_split(const std::filesystem::path& root, const std::string& split_name,
                                                landmark_set& landmarks, const labelme_read_options& options) {
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
