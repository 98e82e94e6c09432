#pragma once
// Definitions of the functions declared in <mixtrain/data/isbi_reader.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/data/isbi_reader.hpp>

namespace mixtrain::data {
namespace isbi_layout {

MIXTRAIN_COLD landmark_set landmarks() {
  landmark_set set;
  for (std::size_t k = 0; k < landmark_count; ++k) {
    set.symbols.emplace_back(symbols[k]);
    set.titles.emplace_back(titles[k]);
  }
  return set;
}

MIXTRAIN_COLD std::filesystem::path images_dir(const std::filesystem::path& root, std::string_view folder) {
  return root / "RawImage" / folder;
}

MIXTRAIN_COLD std::filesystem::path annotations_dir(const std::filesystem::path& root, std::string_view annotator_folder) {
  return root / "AnnotationsByMD" / annotator_folder;
}

}  // namespace isbi_layout

namespace detail {

MIXTRAIN_COLD std::optional<int> isbi_number(const std::string& stem) {
  if (stem.empty() || stem.size() > 6 || !std::ranges::all_of(stem, [](unsigned char c) { return std::isdigit(c) != 0; }))
    return std::nullopt;
  return std::stoi(stem);
}

MIXTRAIN_COLD std::string three_digits(int n) {
  auto s = std::to_string(n);
  return s.size() < 3 ? std::string(3 - s.size(), '0') + s : s;
}

MIXTRAIN_COLD std::string isbi_range(int first, int last) { return three_digits(first) + "-" + three_digits(last); }

MIXTRAIN_COLD std::string isbi_split_names() {
  std::string names;
  for (const auto& s : isbi_layout::splits)
    names += (names.empty() ? "" : ", ") + std::string(s.name) + " (" + std::string(s.folder) + " " + isbi_range(s.first, s.last) + ")";
  return names;
}

MIXTRAIN_COLD double isbi_coordinate(std::string_view cell, std::string_view axis, std::size_t landmark,
                                     const std::filesystem::path& file, std::size_t line) {
  double v = 0;
  const auto [end, error] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
  if (cell.empty() || error != std::errc{} || end != cell.data() + cell.size() || !std::isfinite(v))
    throw data_error(file, line, std::string(axis) + " of landmark " + std::to_string(landmark + 1) + " (" +
                                     std::string(isbi_layout::symbols[landmark]) + ") is '" + std::string(cell) +
                                     "', not a number");
  return v;
}

}  // namespace detail

MIXTRAIN_COLD std::vector<point> parse_isbi_points(std::string_view text, const std::filesystem::path& file) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  std::vector<point> points;
  for (std::size_t k = 0; k < isbi_layout::landmark_count; ++k) {
    const std::size_t line = k + 1;
    const auto name = "landmark " + std::to_string(line) + " (" + std::string(isbi_layout::symbols[k]) + ")";
    if (text.empty())
      throw data_error(file, line, name + " is missing: the file ends after " + std::to_string(k) + " of the " +
                                       std::to_string(isbi_layout::landmark_count) + " 'x,y' lines");
    const auto end = text.find('\n');
    auto row = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    row = detail::trim(row);  // also drops the '\r' of CRLF
    if (row.empty()) throw data_error(file, line, "expected 'x,y' for " + name + ", found an empty line");
    const auto comma = row.find(',');
    if (comma == std::string_view::npos || row.find(',', comma + 1) != std::string_view::npos)
      throw data_error(file, line, "expected 'x,y' for " + name + ", found '" + std::string(row) + "'");
    points.push_back({detail::isbi_coordinate(detail::trim(row.substr(0, comma)), "x", k, file, line),
                      detail::isbi_coordinate(detail::trim(row.substr(comma + 1)), "y", k, file, line)});
  }
  return points;
}

namespace detail {

MIXTRAIN_COLD void check_isbi_annotations_have_images(const std::filesystem::path& dir, const isbi_layout::split_spec& spec,
                                                      const std::map<std::string, std::filesystem::path>& images,
                                                      const std::filesystem::path& image_dir) {
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const auto& file = entry.path();
    if (!entry.is_regular_file() || file.filename().string().starts_with(".") ||
        lowercase(file.extension().string()) != ".txt")
      continue;
    const auto number = isbi_number(file.stem().string());
    if (!number || *number < 1 || *number > 400)
      throw data_error(file, "not an ISBI 2015 annotation name: expected NNN.txt, 001-400");
    if (*number >= spec.first && *number <= spec.last && !images.contains(file.stem().string()))
      throw data_error(file, "annotation without an image: no " + file.stem().string() + ".bmp (or .png, .jpg) in " +
                                 image_dir.string());
  }
}

}  // namespace detail

MIXTRAIN_COLD split read_isbi_split(const std::filesystem::path& root, const std::string& split_name, landmark_set& landmarks,
                                    const isbi_read_options& options) {
  namespace fs = std::filesystem;
  const auto spec = std::ranges::find(isbi_layout::splits, std::string_view(split_name), &isbi_layout::split_spec::name);
  if (spec == isbi_layout::splits.end())
    throw data_error(root, "no split '" + split_name + "' in the ISBI 2015 layout; the splits are " + detail::isbi_split_names());
  if (!(options.pixel_size_mm > 0) || !std::isfinite(options.pixel_size_mm))
    throw data_error(root, "the ISBI pixel size must be a positive number of millimetres");
  const auto expected = isbi_layout::landmarks();
  if (landmarks.symbols.empty()) landmarks = expected;
  // Symbols only: a checkpoint's contract carries no titles.
  if (landmarks.symbols != expected.symbols)
    throw data_error(root, "the ISBI 2015 data holds the 19 landmarks S, N, ..., Ar in that order; " +
                               std::to_string(landmarks.size()) + " other landmarks were asked for (a checkpoint from another dataset?)");

  const auto image_dir = isbi_layout::images_dir(root, spec->folder);
  if (!fs::is_directory(image_dir))
    throw data_error(image_dir, "missing image folder of split '" + split_name + "' (ISBI 2015 layout: RawImage/" +
                                    std::string(spec->folder) + "/NNN.bmp)");
  std::vector<fs::path> annotation_dirs = {isbi_layout::annotations_dir(root, isbi_layout::senior_folder)};
  if (options.annotators == isbi_annotators::mean)
    annotation_dirs.push_back(isbi_layout::annotations_dir(root, isbi_layout::junior_folder));
  for (const auto& dir : annotation_dirs)
    if (!fs::is_directory(dir))
      throw data_error(dir, "missing annotation folder (ISBI 2015 layout: AnnotationsByMD/" + dir.filename().string() + "/NNN.txt)");

  // The folder's images by stem; those outside its number range are errors.
  std::map<std::string, fs::path> images;
  for (const auto& [stem, file] : detail::list_images(image_dir)) {
    const auto number = detail::isbi_number(stem);
    if (!number)
      throw data_error(file, "not an ISBI 2015 image name: the stem must be the image number (" +
                                 detail::isbi_range(spec->folder_first, spec->folder_last) + ")");
    if (*number < spec->folder_first || *number > spec->folder_last)
      throw data_error(file, "image " + stem + " does not belong in " + std::string(spec->folder) + ", which holds " +
                                 detail::isbi_range(spec->folder_first, spec->folder_last) +
                                 " (the annotations are keyed by this number)");
    if (*number >= spec->first && *number <= spec->last) images.emplace(stem, file);
  }
  if (images.empty())
    throw data_error(image_dir, "split '" + split_name + "' holds no images (it takes " + std::string(spec->folder) + " " +
                                    detail::isbi_range(spec->first, spec->last) + ")");
  for (const auto& dir : annotation_dirs) detail::check_isbi_annotations_have_images(dir, *spec, images, image_dir);

  split out{split_name, {}};
  for (const auto& [stem, image_file] : images) {  // by name: "001" < "002" < ...
    annotated_image image;
    image.id = stem;
    image.image_path = image_file;
    image.pixel_size_mm = options.pixel_size_mm;
    // Empty, non-image and oversized files are refused here, before training.
    const auto header = checked_image_header(image_file);
    image.width = header.size.width;
    image.height = header.size.height;

    std::vector<point> sum(isbi_layout::landmark_count);
    std::vector<std::vector<point>> by_annotator;  // senior, then junior when read
    for (const auto& dir : annotation_dirs) {
      const auto file = dir / (stem + ".txt");
      if (!fs::is_regular_file(file))
        throw data_error(image_file, "image without annotation: no " + file.filename().string() + " in " + dir.string());
      const auto points = parse_isbi_points(detail::read_text_file(file), file);
      for (std::size_t k = 0; k < points.size(); ++k) {
        const auto p = points[k];
        // One pixel of slack either side, as for Aariz: tools differ on
        // whether pixel centres or edges lie on integers.
        if (p.x < -1 || p.y < -1 || p.x > image.width + 1 || p.y > image.height + 1)
          throw data_error(file, k + 1, "landmark " + std::to_string(k + 1) + " (" + std::string(isbi_layout::symbols[k]) +
                                            ") at (" + std::to_string(p.x) + ", " + std::to_string(p.y) + ") lies outside the " +
                                            std::to_string(image.width) + "x" + std::to_string(image.height) + " image " +
                                            image_file.string());
        sum[k].x += p.x;
        sum[k].y += p.y;
      }
      by_annotator.push_back(points);
    }
    if (by_annotator.size() == 2)  // both doctors mark all 19: never NaN here
      for (std::size_t k = 0; k < isbi_layout::landmark_count; ++k)
        image.annotator_distance_px.push_back(
            std::hypot(by_annotator[0][k].x - by_annotator[1][k].x, by_annotator[0][k].y - by_annotator[1][k].y));
    const auto n = static_cast<double>(annotation_dirs.size());
    for (const auto& s : sum) image.landmarks.push_back({s.x / n, s.y / n});
    image.present.assign(isbi_layout::landmark_count, 1);  // both doctors mark all 19 in every image
    out.images.push_back(std::move(image));
  }
  return out;
}

}  // namespace mixtrain::data
