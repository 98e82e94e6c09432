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
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::app {

template <class Trainer>
std::filesystem::path checkpoint_or_last(const Trainer& t, const std::filesystem::path& checkpoint) {
  return checkpoint.empty() ? t.run.output_dir / "last.pt" : checkpoint;
}

// Files as given, and the image files under folders (recursively, sorted),
// by the extensions the reader takes.
MIXTRAIN_COLD std::vector<std::filesystem::path> image_files_of(const std::vector<std::filesystem::path>& inputs);

// Images without annotations, as a split the evaluation can run over. Ids
// are the file stems, made unique; the pixel size is --pixel_size when given,
// else the file's own (DICOM), else unknown (0).
MIXTRAIN_COLD data::split unannotated_split(const std::vector<std::filesystem::path>& files, std::size_t num_landmarks,
                                            double pixel_size_flag, std::vector<std::string>* pixel_size_sources = nullptr);

// One image's prediction as JSON: original pixels, mm where the pixel size is
// known, the heatmap peak as confidence, and the truth where there is one.
MIXTRAIN_COLD nlohmann::json prediction_json(const data::annotated_image& image, const data::landmark_set& landmarks,
                                             const std::vector<data::point>& predicted, const std::vector<float>* confidence,
                                             const std::string& pixel_size_source);

MIXTRAIN_COLD std::string prediction_csv_rows(const nlohmann::json& p, const data::landmark_set& landmarks);

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
    if (cl.images.empty()) throw flag_error("predict", "give image files or folders, or --split with --dataset_path");
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

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/app/impl/predict.ipp>
#endif
