#pragma once
// Definitions of the functions declared in <mixtrain/app/predict.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/app/predict.hpp>

namespace mixtrain::app {

MIXTRAIN_COLD std::vector<std::filesystem::path> image_files_of(const std::vector<std::filesystem::path>& inputs) {
  const auto taken = data::taken_image_extensions();
  auto is_image = [&](const std::filesystem::path& p) {
    auto ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return std::find(taken.begin(), taken.end(), ext) != taken.end();
  };
  std::vector<std::filesystem::path> out;
  for (const auto& input : inputs) {
    if (!std::filesystem::is_directory(input)) {
      out.push_back(input);
      continue;
    }
    std::vector<std::filesystem::path> found;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(input))
      if (entry.is_regular_file() && is_image(entry.path())) found.push_back(entry.path());
    if (found.empty())
      throw std::runtime_error(input.string() + ": no image files in this folder (taken: " + data::taken_image_formats() + ")");
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

MIXTRAIN_COLD data::split unannotated_split(const std::vector<std::filesystem::path>& files, std::size_t num_landmarks,
                                            double pixel_size_flag, std::vector<std::string>* pixel_size_sources) {
  data::split inputs{"predict", {}};
  std::set<std::string> ids;
  for (const auto& file : files) {
    data::annotated_image image;
    image.id = file.stem().string();
    for (int n = 2; !ids.insert(image.id).second; ++n) image.id = file.stem().string() + "_" + std::to_string(n);
    image.image_path = file;
    const auto header = data::checked_image_header(file);
    image.width = header.size.width;
    image.height = header.size.height;
    std::string source = "unknown: give --pixel_size";
    image.pixel_size_mm = 0;
    if (pixel_size_flag > 0) {
      image.pixel_size_mm = pixel_size_flag;
      source = "--pixel_size";
    } else if (header.pixel_size_mm) {
      image.pixel_size_mm = *header.pixel_size_mm;
      source = header.pixel_size_source;
    }
    if (pixel_size_sources) pixel_size_sources->push_back(source);
    image.landmarks.resize(num_landmarks);
    image.present.assign(num_landmarks, 0);
    inputs.images.push_back(std::move(image));
  }
  return inputs;
}

MIXTRAIN_COLD nlohmann::json prediction_json(const data::annotated_image& image, const data::landmark_set& landmarks,
                                             const std::vector<data::point>& predicted, const std::vector<float>* confidence,
                                             const std::string& pixel_size_source) {
  const double mm = image.pixel_size_mm;
  nlohmann::json points = nlohmann::json::object();
  for (std::size_t k = 0; k < landmarks.size(); ++k) {
    nlohmann::json p = {{"x", predicted[k].x}, {"y", predicted[k].y}};
    p["x_mm"] = mm > 0 ? nlohmann::json(predicted[k].x * mm) : nlohmann::json(nullptr);
    p["y_mm"] = mm > 0 ? nlohmann::json(predicted[k].y * mm) : nlohmann::json(nullptr);
    p["confidence"] = confidence && k < confidence->size() ? nlohmann::json((*confidence)[k]) : nlohmann::json(nullptr);
    if (k < image.present.size() && image.present[k]) {
      p["truth"] = {{"x", image.landmarks[k].x}, {"y", image.landmarks[k].y}};
      p["error_mm"] = std::hypot(predicted[k].x - image.landmarks[k].x, predicted[k].y - image.landmarks[k].y) * mm;
    }
    points[landmarks.symbols[k]] = p;
  }
  return {{"image", image.image_path.string()},
          {"id", image.id},
          {"width", image.width},
          {"height", image.height},
          {"pixel_size_mm", mm > 0 ? nlohmann::json(mm) : nlohmann::json(nullptr)},
          {"pixel_size_source", pixel_size_source},
          {"landmarks", points}};
}

MIXTRAIN_COLD std::string prediction_csv_rows(const nlohmann::json& p, const data::landmark_set& landmarks) {
  auto cell = [](const nlohmann::json& v) { return v.is_null() ? std::string() : fmt::format("{:.4f}", v.get<double>()); };
  std::string out;
  for (const auto& symbol : landmarks.symbols) {
    const auto& l = p.at("landmarks").at(symbol);
    out += fmt::format("{},{},{:.3f},{:.3f},{},{},{}\n", p.at("id").get<std::string>(), symbol, l.at("x").get<double>(),
                       l.at("y").get<double>(), cell(l.at("x_mm")), cell(l.at("y_mm")), cell(l.at("confidence")));
  }
  return out;
}

}  // namespace mixtrain::app
