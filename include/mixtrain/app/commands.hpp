#pragma once
// The recipe executable's commands, each a small function over the trainer
// and the parsed command line: train, describe, inspect, synth (evaluate:
// app/evaluate.hpp, predict: app/predict.hpp, bench: app/bench.hpp). The per-epoch console line and metrics.csv come
// from the default logging policies (policy/logging.hpp), not from here.
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <boost/hana.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/app/cli.hpp>
#include <mixtrain/app/common.hpp>
#include <mixtrain/app/evaluate.hpp>
#include <mixtrain/app/predict.hpp>
#include <mixtrain/app/inspect.hpp>
#include <mixtrain/app/landmark_results.hpp>
#include <mixtrain/app/openmp_env.hpp>
#include <mixtrain/app/report_html.hpp>
#include <mixtrain/app/report.hpp>
#include <mixtrain/data/image_file.hpp>
#include <mixtrain/data/synthetic_aariz.hpp>
#include <mixtrain/io/checkpoint.hpp>

namespace mixtrain::app {

// --- synth ----------------------------------------------------------------------------

template <class Trainer>
int run_synth(command_line<Trainer>& cl) {
  Trainer::data_type::write_synthetic(cl.synth_output, cl.synth_options);
  std::cout << "wrote synthetic " << Trainer::data_type::name << "-layout data to " << cl.synth_output.string() << "\n";
  return 0;
}

// --- describe -------------------------------------------------------------------------

// What describe builds the model for: --num_landmarks numbered landmarks, else
// the dataset's, else the data source's default set (Aariz's 29).
template <class Trainer>
typename Trainer::target_info describe_targets(Trainer& t, int num_landmarks) {
  typename Trainer::target_info targets{};
  if constexpr (landmark_recipe<Trainer>)
    if (num_landmarks > 0) return numbered_landmarks(num_landmarks);
  if (!t.run.dataset_path.empty()) {
    require_dataset<typename Trainer::data_type>(t.run.dataset_path);
    (void)t.data.read_split(t.run.dataset_path, "train", targets);
    return targets;
  }
  if constexpr (landmark_recipe<Trainer> && aariz_layout<typename Trainer::data_type>) return aariz_landmarks();
  return targets;
}

template <class Trainer>
int run_describe(Trainer& t, command_line<Trainer>& cl) {
  t.run.measure_switches = false;  // describes the recipe, runs nothing
  t.build(describe_targets(t, cl.num_landmarks));
  const auto description = t.describe();
  std::cout << (cl.json ? description.dump() : description.dump(2)) << "\n";
  return 0;
}

// --- inspect --------------------------------------------------------------------------

// The dataset report (app/inspect.hpp): tables, or --json; inspection.json in
// the run folder. Status 1 when a split or an image file failed to read.
template <class Trainer>
int run_inspect(Trainer& t, command_line<Trainer>& cl) {
  const auto& run = t.run;
  require_dataset<typename Trainer::data_type>(run.dataset_path, "inspect");
  const auto report = inspect_dataset(t.data, run.dataset_path, cl.json ? nullptr : &std::cerr);
  if (cl.json) std::cout << report.dump() << "\n";
  else print_inspection(std::cout, report);
  std::filesystem::create_directories(run.output_dir);
  write_json(run.output_dir / "inspection.json", report);
  if (!cl.json) std::cout << "wrote " << (run.output_dir / "inspection.json").string() << "\n";
  return report["errors"].empty() ? 0 : 1;
}

// --- train ----------------------------------------------------------------------------

// config.json: the recipe's description and the run's settings as used.
template <class Trainer>
void write_run_config(Trainer& t, std::size_t train_images, std::size_t valid_images) {
  const auto& run = t.run;
  auto settings = describe_fields(run.fit);
  settings["threads"] = torch::get_num_threads();
  settings["omp_spincount"] = effective_omp_spincount();
  settings["dataset_path"] = run.dataset_path.string();
  settings["output_dir"] = run.output_dir.string();
  settings["device"] = run.device;
  settings["train_images"] = train_images;
  settings["valid_images"] = valid_images;
  if (!run.init_from.empty()) settings["init_from"] = {{"path", run.init_from.string()}, {"strict", run.init_strict}};
  auto config = t.describe();
  config["run"] = settings;
  write_json(run.output_dir / "config.json", config);
}

// After fit: why it ended, and the final validation's results.
// report.html in the run folder: curves from metrics.csv and the final
// validation (for landmarks: bars, SDR curve, measurements, worst images).
template <class Trainer>
void write_training_report(Trainer& t, const typename Trainer::sample_set& valid, const typename Trainer::evaluation_type& e,
                           const nlohmann::json& metrics) {
  const auto& run = t.run;
  const nlohmann::json info = {{"recipe", run.recipe_name}, {"dataset", run.dataset_path.string()},
                               {"output_dir", run.output_dir.string()}, {"epochs", t.ctx().epoch}};
  report_inputs report;
  if constexpr (landmark_results<typename Trainer::evaluation_type, typename Trainer::target_info>) {
    const auto& targets = t.targets();
    const auto errors = radial_error_table(valid, e.predictions);
    const auto gallery = write_gallery({}, valid, e.predictions, targets, errors, 1);
    report = landmark_report(run.recipe_name + ": training and validation", run.output_dir / "metrics.csv", metrics,
                             targets, errors, gallery, info);
    if (has_measurements(targets))
      report.tables.push_back(measurement_table(measurement_agreement_of(valid, targets, e.predictions),
                                                "Clinical measurements on the validation split"));
  } else {
    report.title = run.recipe_name + ": training and validation";
    report.metrics_csv = run.output_dir / "metrics.csv";
    report.evaluation = metrics;
    report.run_info = info;
  }
  write_report_html(run.output_dir / "report.html", report);
}

template <class Trainer>
int report_training(Trainer& t, const typename Trainer::sample_set& valid, const typename Trainer::fit_result& result) {
  const auto& run = t.run;
  auto& c = t.ctx();
  if (!c.writes_files()) return result.nonfinite_stop ? 1 : 0;  // data parallelism: rank 0 reports
  if (result.epochs_run == 0 && run.fit.epochs > 0 && c.epoch >= run.fit.epochs) {
    std::cout << "nothing to do: the checkpoint already finished " << run.fit.epochs << " epochs\n";
    return 0;
  }
  const auto recovery = (run.output_dir / "recovery.pt").string();
  if (result.nonfinite_stop) {
    std::cerr << "error: " << c.stop_reason << " (in "
              << (c.batch_in_epoch > 0 ? recovery : (run.output_dir / "last.pt").string()) << ")\n";
    return 1;
  }
  if (c.stop_requested) std::cout << "stopped: " << c.stop_reason << "\n";
  if (result.interrupted_by_signal || c.batch_in_epoch > 0) {
    std::cout << "interrupted; continue with --resume " << recovery << "\n";
    return 0;
  }
  if (!result.validation) return 0;
  auto metrics = evaluation_json(*result.validation, t.targets(), "valid");
  metrics["epochs_run"] = c.epoch;
  write_json(run.output_dir / "metrics.json", metrics);
  print_evaluation(std::cout, *result.validation, t.targets(), "validation after the last epoch");
  write_training_report(t, valid, *result.validation, metrics);
  std::cout << "wrote " << (run.output_dir / "metrics.json").string() << ", metrics.csv, report.html, config.json and last.pt\n";
  return 0;
}

// A policy that runs training as several processes (policy/distributed.hpp,
// --nproc N) may start them here instead; its status is the run's.
template <class Trainer>
std::optional<int> launch_ranks(Trainer& t) {
  std::optional<int> status;
  boost::hana::for_each(t.policies, [&](auto& p) {
    if constexpr (requires { p.launch_ranks(); })
      if (!status) status = p.launch_ranks();
  });
  return status;
}

template <class Trainer>
int run_train(Trainer& t) {
  if (const auto launched = launch_ranks(t)) return *launched;
  const auto& run = t.run;
  require_dataset<typename Trainer::data_type>(run.dataset_path);
  typename Trainer::target_info targets{};
  const auto train_split = t.data.read_split(run.dataset_path, "train", targets);
  const auto valid_split = t.data.read_split(run.dataset_path, "valid", targets);
  t.build(targets);
  t.check_output_folder();  // before any work that a full or read-only folder would waste
  if (!run.resume.empty()) {
    t.load_checkpoint(run.resume, Trainer::restore::everything);
    std::cout << "resuming " << run.resume.string() << " at epoch " << t.ctx().epoch + 1 << ", batch "
              << t.ctx().batch_in_epoch << "\n";
  }
  if constexpr (landmark_split_recipe<Trainer>)  // what the run trains on, first
    std::cout << inspection_summary(inspect_read_splits(Trainer::data_type::name, run.dataset_path,
                                                        {&train_split, &valid_split}, targets))
              << "\n";
  const auto train_images = split_size(train_split), valid_images = split_size(valid_split);
  if (t.ctx().writes_files()) write_run_config(t, train_images, valid_images);
  std::string targets_text;
  if constexpr (requires { t.task.landmarks(); }) targets_text = fmt::format(", {} landmarks", targets.size());
  std::cout << fmt::format("{}: {} ({} parameters){}, {} train / {} valid images, {} epochs\n", run.recipe_name,
                           Trainer::model_spec::name, t.parameter_count(), targets_text, train_images, valid_images,
                           run.fit.epochs);
  return report_training(t, valid_split, t.fit(train_split, valid_split));
}

}  // namespace mixtrain::app
