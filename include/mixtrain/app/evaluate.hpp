#pragma once
// evaluate: a checkpoint on a split. The preprocessing comes from the
// checkpoint's contract: a flag the user did not give takes the checkpoint's
// value, and only a flag given explicitly that disagrees is refused. Files go
// to <output_dir>/evaluation/<split>/ (docs/usage.md): metrics.json,
// per_landmark.csv, predictions.csv, summary.md, measurements.md, gallery/,
// report.html and, with --compare, comparison.json and comparison.md.
#include <filesystem>
#include <iostream>
#include <string>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <mixtrain/app/cli.hpp>
#include <mixtrain/app/common.hpp>
#include <mixtrain/app/evaluation_files.hpp>
#include <mixtrain/app/gallery.hpp>
#include <mixtrain/app/landmark_results.hpp>
#include <mixtrain/app/predict.hpp>
#include <mixtrain/app/report.hpp>
#include <mixtrain/io/checkpoint.hpp>

namespace mixtrain::app {

// The data source takes the checkpoint's input size unless --image_size was given.
template <class Trainer>
void adopt_checkpoint_preprocessing(Trainer& t, command_line<Trainer>& cl, const std::filesystem::path& checkpoint) {
  if constexpr (requires(const nlohmann::json& c) { t.data.adopt_contract(c); })
    if (!cl.given("--image_size")) t.data.adopt_contract(io::read_contract(checkpoint));
}

template <class Trainer>
int run_evaluate(Trainer& t, command_line<Trainer>& cl) {
  const auto& run = t.run;
  require_dataset<typename Trainer::data_type>(run.dataset_path);
  const auto checkpoint = checkpoint_or_last(t, cl.checkpoint);
  if (!std::filesystem::exists(checkpoint))
    throw std::runtime_error(checkpoint.string() + ": checkpoint file does not exist (give --checkpoint or the run's --output_dir)");
  adopt_checkpoint_preprocessing(t, cl, checkpoint);
  typename Trainer::target_info targets{};
  const auto train_split = t.data.read_split(run.dataset_path, "train", targets);
  t.build(targets);
  t.load_checkpoint(checkpoint, Trainer::restore::weights_only);
  const auto split = cl.split == "train" ? train_split : t.data.read_split(run.dataset_path, cl.split, targets);
  // The training set's baseline (e.g. the mean shape) that results are shown beside.
  if constexpr (requires { t.task.prepare(train_split); }) t.task.prepare(train_split);
  const auto result = t.evaluate(split);
  print_evaluation(std::cout, result, targets, "evaluation of " + checkpoint.string() + " on '" + cl.split + "'");
  const auto folder = run.output_dir / "evaluation" / cl.split;
  std::filesystem::create_directories(folder);
  auto metrics = evaluation_json(result, targets, cl.split);
  metrics["checkpoint"] = checkpoint.string();
  const nlohmann::json run_info = {{"checkpoint", checkpoint.string()}, {"split", cl.split},
                                   {"dataset", run.dataset_path.string()}, {"images", split_size(split)}};
  const auto title = fmt::format("Evaluation of {} on '{}'", checkpoint.string(), cl.split);
  report_inputs report;
  report.title = title;
  report.metrics_csv = run.output_dir / "metrics.csv";
  report.run_info = run_info;
  if constexpr (landmark_results<typename Trainer::evaluation_type, typename Trainer::target_info>) {
    const auto errors = radial_error_table(split, result.predictions);
    const auto devices = per_device_summaries(split, errors);
    if (!devices.empty()) {
      metrics["per_device"] = per_device_json(split, devices);
      io::write_text_atomically(folder / "per_device.csv", per_device_csv(split, devices));
      print_device_table(std::cout, devices, split);
    }
    std::vector<std::vector<float>> confidences;
    if constexpr (requires { result.confidences; }) confidences = result.confidences;
    io::write_text_atomically(folder / "per_landmark.csv", per_landmark_csv(result.errors, targets));
    io::write_text_atomically(folder / "predictions.csv", predictions_csv(split, result.predictions, confidences, targets, errors));
    io::write_text_atomically(folder / "summary.md",
                              summary_markdown(fmt::format("Evaluation of {} on '{}'", checkpoint.filename().string(), cl.split),
                                               result.errors, result.baseline_errors, targets, split, devices));
    std::vector<gallery_entry> gallery;
    if (cl.gallery_size > 0) {
      gallery = write_gallery(folder / "gallery", split, result.predictions, targets, errors, cl.gallery_size);
      metrics["gallery"] = gallery.size();
    }
    std::vector<report_table> tables;
    if (has_measurements(targets)) {
      const auto agreement = measurement_agreement_of(split, targets, result.predictions);
      metrics["measurements"] = agreement.json();
      io::write_text_atomically(folder / "measurements.md", "# Clinical measurements: predicted against annotated landmarks\n\n" +
                                                                agreement.markdown(true));
      std::cout << "\nclinical measurements (predicted against annotated landmarks)\n" << agreement.markdown();
      tables.push_back(measurement_table(agreement, "Clinical measurements: predicted against annotated landmarks"));
    }
    if (!cl.compare.empty()) {
      t.load_checkpoint(cl.compare, Trainer::restore::weights_only);  // the same contract checks
      const auto other = t.evaluate(split);
      const auto comparison = metric::compare(errors, radial_error_table(split, other.predictions), targets.symbols,
                                              {.label_a = checkpoint.string(), .label_b = cl.compare.string()});
      write_json(folder / "comparison.json", comparison.json());
      io::write_text_atomically(folder / "comparison.md", comparison.markdown());
      std::cout << "\npaired comparison (B - A, negative: B better)\n" << comparison.markdown();
      report_table table{"Paired comparison: B = " + cl.compare.string() + " against A = " + checkpoint.string(),
                         {"", "n", "MRE A", "MRE B", "B - A", "95% CI", "verdict"}, {}};
      for (const auto* row : [&] {
             std::vector<const metric::comparison_row*> rows{&comparison.overall};
             for (const auto& r : comparison.landmarks) rows.push_back(&r);
             return rows;
           }())
        table.rows.push_back({row->name, std::to_string(row->n), fmt::format("{:.3f}", row->mean_a_mm),
                              fmt::format("{:.3f}", row->mean_b_mm), fmt::format("{:+.3f}", row->mean_difference_mm),
                              fmt::format("[{:+.3f}, {:+.3f}]", row->ci_low_mm, row->ci_high_mm), row->verdict(0.05)});
      tables.push_back(std::move(table));
    }
    report = landmark_report(title, run.output_dir / "metrics.csv", metrics, targets, errors, gallery, run_info);
    report.tables = std::move(tables);
  }
  if (report.evaluation.is_null()) report.evaluation = metrics;
  write_report_html(folder / "report.html", report);
  write_json(folder / "metrics.json", metrics);
  std::cout << "wrote " << folder.string() << "/ (metrics.json, report.html"
            << (landmark_results<typename Trainer::evaluation_type, typename Trainer::target_info>
                    ? ", per_landmark.csv, predictions.csv, summary.md, measurements.md, gallery/"
                    : "")
            << ")\n";
  return 0;
}

}  // namespace mixtrain::app
