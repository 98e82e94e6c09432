#pragma once
// predict: landmarks on images (files and folders, any format the reader
// takes) or on a split of the dataset (--split, with ground truth). The
// landmark set and the whole preprocessing come from the checkpoint's
// contract. Per image: one JSON line on stdout and predictions/<id>.json; for
// the call: predictions/predictions.csv; with --overlay: predictions/overlays/<id>.png.
// Each image's JSON has the clinical measurements its landmark set allows.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <mixtrain/app/cli.hpp>
#include <mixtrain/app/common.hpp>
#include <mixtrain/app/gallery.hpp>
#include <mixtrain/app/overlay.hpp>
#include <mixtrain/app/report.hpp>
#include <mixtrain/data/image_file.hpp>
#include <mixtrain/data/image_format.hpp>
#include <mixtrain/io/checkpoint.hpp>
#include <mixtrain/metric/cephalometric.hpp>

namespace mixtrain::app {

template <class Trainer>
std::filesystem::path checkpoint_or_last(const Trainer& t, const std::filesystem::path& checkpoint) {
  return checkpoint.empty() ? t.run.output_dir / "last.pt" : checkpoint;
}

// Files as given, and the image files under folders (recursively, sorted),
// by the extensions the reader takes.
inline std::vector<std::filesystem::path> image_files_of(const std::vector<std::filesystem::path>& inputs) {
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

// Images without annotations, as a split the evaluation can run over. Ids
// are the file stems, made unique; the pixel size is --pixel_size when given,
// else the file's own (DICOM), else unknown (0).
inline data::split unannotated_split(const std::vector<std::filesystem::path>& files, std::size_t num_landmarks,
                                     double pixel_size_flag, std::vector<std::string>* pixel_size_sources = nullptr) {
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

// One image's prediction as JSON: original pixels, mm where the pixel size is
// known, the heatmap peak as confidence, and the truth where there is one.
inline nlohmann::json prediction_json(const data::annotated_image& image, const data::landmark_set& landmarks,
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

inline std::string prediction_csv_rows(const nlohmann::json& p, const data::landmark_set& landmarks) {
  auto cell = [](const nlohmann::json& v) { return v.is_null() ? std::string() : fmt::format("{:.4f}", v.get<double>()); };
  std::string out;
  for (const auto& symbol : landmarks.symbols) {
    const auto& l = p.at("landmarks").at(symbol);
    out += fmt::format("{},{},{:.3f},{:.3f},{},{},{}\n", p.at("id").get<std::string>(), symbol, l.at("x").get<double>(),
                       l.at("y").get<double>(), cell(l.at("x_mm")), cell(l.at("y_mm")), cell(l.at("confidence")));
  }
  return out;
}

template <class Trainer>
  requires contract_predict_recipe<Trainer>
int run_predict(Trainer& t, command_line<Trainer>& cl) {
  const auto checkpoint = checkpoint_or_last(t, cl.checkpoint);
  const auto contract = io::read_contract(checkpoint);
  const auto landmarks = Trainer::task_type::targets_from_contract(contract);
  t.data.adopt_contract(contract);
  std::vector<std::string> sources;
  data::split inputs;
  if (!cl.predict_split.empty()) {
    require_dataset<typename Trainer::data_type>(t.run.dataset_path, "predict --split");
    auto targets = landmarks;
    inputs = t.data.read_split(t.run.dataset_path, cl.predict_split, targets);
    for (auto& image : inputs.images) {
      if (cl.pixel_size > 0) image.pixel_size_mm = cl.pixel_size;
      sources.push_back(cl.pixel_size > 0 ? "--pixel_size" : "dataset");
    }
  } else {
    if (cl.images.empty()) throw CLI::ValidationError("predict", "give image files or folders, or --split with --dataset_path");
    inputs = unannotated_split(image_files_of(cl.images), landmarks.size(), cl.pixel_size, &sources);
  }
  t.build(landmarks);
  t.ctx().log = &std::cerr;  // stdout carries only the JSON lines; progress goes beside them
  t.load_checkpoint(checkpoint, Trainer::restore::weights_only);
  const auto result = t.evaluate(inputs);
  const auto folder = t.run.output_dir / "predictions";
  std::filesystem::create_directories(cl.overlay ? folder / "overlays" : folder);
  std::string csv = "image,landmark,x,y,x_mm,y_mm,confidence\n";
  const metric::cephalometry ceph(landmarks);
  const std::vector<std::uint8_t> all_present(landmarks.size(), 1);
  for (std::size_t i = 0; i < inputs.images.size(); ++i) {
    const auto& image = inputs.images[i];
    const std::vector<float>* confidence = nullptr;
    if constexpr (requires { result.confidences; })
      if (i < result.confidences.size()) confidence = &result.confidences[i];
    auto p = prediction_json(image, landmarks, result.predictions[i], confidence, sources[i]);
    if constexpr (requires { result.classes.predicted; }) {  // a task with image classes beside the landmarks
      const auto c = result.classes.predicted[i];
      if (c >= 0)
        p["image_class"] = {{"class", result.classes.classes[static_cast<std::size_t>(c)]},
                            {"probability", result.classes.probability[i]}};
    }
    p["measurements"] = metric::measurements_json(ceph.definitions(), ceph.measure(result.predictions[i], all_present, image.pixel_size_mm));
    std::cout << p.dump() << "\n";
    write_json(folder / (image.id + ".json"), p);
    csv += prediction_csv_rows(p, landmarks);
    if (cl.overlay) {
      const cv::Mat gray = grayscale_at_original_size(image.image_path);
      const bool truth = std::any_of(image.present.begin(), image.present.end(), [](auto v) { return v != 0; });
      const overlay_truth with{truth ? &image.landmarks : nullptr, &image.present, image.pixel_size_mm};
      write_png(folder / "overlays" / (image.id + ".png"),
                draw_landmarks(gray, landmarks.symbols, result.predictions[i], with));
    }
  }
  io::write_text_atomically(folder / "predictions.csv", csv);
  std::cerr << fmt::format("wrote {} predictions to {}{}\n", inputs.images.size(), folder.string(),
                           cl.overlay ? " (overlays in overlays/)" : "");
  return 0;
}

}  // namespace mixtrain::app
