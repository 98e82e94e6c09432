#pragma once
// The recipe executable's command line. Numbers have the recipe's compiled
// defaults and flags may override them; structure may not. Each flag comes
// from the one place that owns the value:
//   - the run's numbers from fit_config::fields() (core/recipe.hpp), except
//     --num_workers, which also takes 'auto';
//   - --image_size and other data flags from the data source's add_flags,
//     task flags (e.g. --class_weight) from the task's;
//   - policy flags from each compiled-in policy (hook::add_flags);
//   - the paths, --device, --init_from/--init_strict and --lr here.
// A flag of a library policy that the recipe does not hold is accepted by
// the parser and then refused with the policy to add (app/policy_flags.hpp).
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <mixtrain/app/bench.hpp>
#include <mixtrain/app/cli_app.hpp>
#include <mixtrain/app/common.hpp>
#include <mixtrain/app/openmp_env.hpp>
#include <mixtrain/app/policy_flags.hpp>
#include <mixtrain/core/fields.hpp>
#include <mixtrain/core/flag_set.hpp>
#include <mixtrain/core/hooks.hpp>
#include <mixtrain/data/synthetic_aariz.hpp>

namespace mixtrain::app {

namespace cli_detail {

inline std::string check_num_workers(const std::string& v) {
  if (v == "auto") return "";
  try {
    return std::stoi(v) >= 1 ? "" : "must be 'auto' or at least 1, got " + v;
  } catch (...) {
    return "must be 'auto' or a positive integer, got '" + v + "'";
  }
}

}  // namespace cli_detail

// The parsed command line: the subcommands and what the trainer does not hold.
template <class Trainer>
class command_line {
 public:
  static constexpr bool has_synth = synthetic_layout<typename Trainer::data_type>;
  static constexpr bool has_predict = contract_predict_recipe<Trainer>;
  static constexpr bool has_inspect = landmark_split_recipe<Trainer>;
  static constexpr bool has_bench = bench_command<Trainer>::has_data || bench_command<Trainer>::has_step;

  program_command_line program;  // the CLI::App, in cold code (app/cli_app.hpp)
  flag_set app;
  flag_set train;
  flag_set evaluate;
  flag_set describe;
  flag_set predict;  // empty where the recipe cannot predict
  flag_set bench;
  flag_set inspect;  // empty where the source reads no annotated landmark images
  flag_set synth;    // empty where the data source cannot write a synthetic tree

  std::filesystem::path checkpoint;  // evaluate, predict (default <output_dir>/last.pt)
  std::string split = "valid";       // evaluate
  bool json = false;                 // describe, inspect
  int num_landmarks = 0;             // describe
  std::vector<std::filesystem::path> images;  // predict: files and folders
  std::string predict_split;                  // predict --split: a split of --dataset_path, with its truth
  double pixel_size = 0;                      // predict: mm per pixel, over the file's own
  bool overlay = false;                       // predict: PNGs with the landmarks drawn
  std::size_t gallery_size = 3;               // evaluate: worst images per landmark
  std::filesystem::path compare;              // evaluate: a second checkpoint, paired on the same images
  bench_command<Trainer> benchmarks;
  data::synthetic_options synth_options;
  std::filesystem::path synth_output;

  // Registers every flag, binding into `t` (which must outlive this object).
  explicit command_line(Trainer& t)
      : program("mixtrain recipe '" + t.run.recipe_name + "': train and evaluate a " +
                    (landmark_recipe<Trainer> ? std::string("landmark") : std::string(Trainer::task_type::name)) + " model",
                t.run.recipe_name),
        app(program.flags()) {
    app.fallthrough();
    app.require_subcommand(0, 1);
    add_run_flags(t);
    t.emit(hook::add_flags{}, app);  // policies register the flags of the numbers they own
    add_missing_policy_flags();
    add_seed_notes();
    add_commands();
  }
  command_line(const command_line&) = delete;
  command_line& operator=(const command_line&) = delete;

  // After parsing: refusals first, then the values the trainer does not bind
  // itself (worker count, threads, seed) and the device check.
  void finish(Trainer& t) {
    for (const auto& [option, pf] : orphans_)
      if (option.count() > 0)
        throw flag_error(pf->flag, "this recipe was compiled without the policy it needs; add " + pf->needs +
                                                 " to the recipe's type list and rebuild");
    if (use_compile_)
      std::cerr << "note: --use_compile is not needed: this recipe is already a compiled trainer specialised for its "
                   "model and policies; on CUDA, listing mixtrain::policy::cuda_graph in the recipe captures forward "
                   "and backward as a CUDA graph after warm-up (docs/policies.md, \"cuda_graph\")\n";
    choose_devices(t);
    if (parsed(synth) && synth_options.min_side > synth_options.max_side)
      throw flag_error("--min_side", "must not exceed --max_side");
    auto& run = t.run;
    run.fit.num_workers = num_workers_ == "auto" ? 0 : std::stoi(num_workers_);
    // Thread counts are set deliberately: --threads, else OMP_NUM_THREADS, else all cores.
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const char* omp_threads = std::getenv("OMP_NUM_THREADS");
    const int env_threads = omp_threads ? std::atoi(omp_threads) : 0;
    torch::set_num_threads(run.fit.threads > 0 ? run.fit.threads : env_threads > 0 ? env_threads : cores);
    torch::manual_seed(run.fit.seed);
    if (run.device != "cpu" && !torch::cuda::is_available())
      throw flag_error("--device", "'" + run.device + "' is not available in this build or machine");
  }

  static bool parsed(const flag_set& sub) { return sub.parsed(); }

  // --multi_gpu and each rank's GPU, through the data-parallel policy's
  // choose_devices (policy/distributed.hpp); without one, or without a GPU
  // or NCCL, --multi_gpu is refused with what is missing.
  void choose_devices(Trainer& t) {
    const int gpus = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
    bool answered = false;
    std::string refusal;
    boost::hana::for_each(t.policies, [&](auto& p) {
      if constexpr (requires { p.choose_devices(t.run.device, multi_gpu_, gpus); }) {
        answered = true;
        refusal = p.choose_devices(t.run.device, multi_gpu_, gpus);
      }
    });
    if (!multi_gpu_) return;
    if (gpus == 0 || !answered) throw flag_error("--multi_gpu", multi_gpu_refusal(gpus > 0, answered));
    if (!refusal.empty()) throw flag_error("--multi_gpu", refusal);
  }

  // Whether the user gave a flag (not its compiled default): evaluate takes
  // the checkpoint's value for every flag not given.
  [[nodiscard]] bool given(const std::string& flag) const { return app.given(flag); }

 private:
  void add_run_flags(Trainer& t) {
    auto& run = t.run;
    app.add_option("--dataset_path", run.dataset_path, "dataset folder (" + dataset_folder_kind<typename Trainer::data_type>() + ")");
    if constexpr (requires { t.data.add_flags(app); }) t.data.add_flags(app);
    if constexpr (requires { t.task.add_flags(app); }) t.task.add_flags(app);
    add_field_flags(app, run.fit);
    if constexpr (requires { t.optimizer_settings.config.lr; })
      app.add_option("--lr", t.optimizer_settings.config.lr, "learning rate").check(positive_number());
    num_workers_ = run.fit.num_workers == 0 ? "auto" : std::to_string(run.fit.num_workers);
    app.add_option("--num_workers", num_workers_, "data worker threads, or 'auto' to measure and pick")
        .check(cli_detail::check_num_workers, "INT or 'auto'");
    app.add_option("--omp_spincount", omp_spincount_,
                   "OpenMP spin count before a waiting thread sleeps: N, 'libgomp', or 'auto' (measured on this "
                   "machine once and cached; the default unless GOMP_SPINCOUNT/OMP_WAIT_POLICY is set)")
        .check([](const std::string& v) { return valid_omp_spincount(v) ? std::string() : "expected a count, 'auto' or 'libgomp'"; },
               "INT|auto|libgomp");
    app.add_option("--output_dir", run.output_dir, "where the run writes its files");
    app.add_option("--resume", run.resume, "checkpoint to continue a run from").check(existing_file());
    app.add_flag("--skip_bad_samples", run.skip_bad_samples, "count and skip unreadable samples instead of stopping");
    app.add_option("--device", run.device, "cpu, or cuda when LibTorch has it");
    app.add_option("--init_from", run.init_from,
                   "start a new run from another run's weights only (fresh optimizer and counters)")
        .check(existing_file());
    app.add_option("--init_strict", run.init_strict, "with --init_from: every tensor must match by name and shape");
  }

  // Seed-script flags that no compiled-in policy claimed.
  void add_missing_policy_flags() {
    for (const auto& pf : policy_flags()) {
      if (app.has_option(pf.flag)) continue;
      auto option = app.add_option(pf.flag, orphan_values_.emplace_back(), "needs " + pf.needs + " in the recipe")
                        .expected(0, 1)
                        .group("Not in this recipe");
      orphans_.emplace_back(option, &pf);
    }
  }

  void add_seed_notes() {
    app.add_flag("--use_compile", use_compile_, "accepted from the seed script; prints why it is not needed")
        .group("Not in this recipe");
    app.add_flag("--multi_gpu", multi_gpu_,
                 "data parallelism across all local GPUs (one rank each, NCCL; needs mt::policy::distributed)")
        .group("Data parallelism");
  }

  void add_commands() {
    train = app.add_subcommand("train", "train, validate each epoch, write checkpoints and metrics (default)");
    evaluate = app.add_subcommand("evaluate", "evaluate a checkpoint on a split: tables, and files in "
                                              "<output_dir>/evaluation/<split>/; preprocessing from the checkpoint");
    evaluate.add_option("--checkpoint", checkpoint, "checkpoint (default <output_dir>/last.pt)");
    evaluate.add_option("--split", split, "train, valid, test or test2 (ISBI 2015)")
        .check(one_of({"train", "valid", "test", "test2"}));
    if constexpr (landmark_recipe<Trainer>) {
      evaluate.add_option("--gallery", gallery_size, "worst images per landmark drawn into gallery/ (0: none)");
      evaluate.add_option("--compare", compare, "a second checkpoint: paired per-landmark differences, Wilcoxon "
                                                 "signed-rank test and a bootstrap interval for the MRE difference")
          .check(existing_file());
    }
    describe = app.add_subcommand("describe", "print the recipe: model, parameters, policies and settings");
    if constexpr (landmark_recipe<Trainer>)
      describe.add_option("--num_landmarks", num_landmarks, "landmark count (default: from --dataset_path, else Aariz's 29)")
          .check(positive_number());
    describe.add_flag("--json", json, "one JSON object");
    if constexpr (has_predict) {
      predict = app.add_subcommand("predict", "predict landmarks on images: JSON lines, and files in <output_dir>/predictions/");
      predict.add_option("--checkpoint", checkpoint, "checkpoint (default <output_dir>/last.pt)");
      predict.add_option("images", images, "image files, or folders searched recursively").check(existing_path());
      predict.add_option("--split", predict_split, "instead of images: a split of --dataset_path, drawn with its truth")
          .check(one_of({"train", "valid", "test", "test2"}))
          .excludes("images");
      predict.add_option("--pixel_size", pixel_size, "mm per pixel (default: the file's own, e.g. a DICOM tag, or the dataset's)")
          .check(positive_number());
      predict.add_flag("--overlay", overlay, "also write overlays/<id>.png: the landmarks drawn on the image");
    }
    if constexpr (has_inspect) {
      inspect = app.add_subcommand("inspect", "report on the dataset: images per split and device, sizes, pixel sizes, "
                                              "missing landmarks, the annotators' distance in mm, unreadable files");
      inspect.add_flag("--json", json, "print the JSON report instead of the tables");
    }
    if constexpr (has_bench) {
      bench = app.add_subcommand("bench", "benchmarks: 'bench data' (the input pipeline alone), 'bench step' (one training step)");
      benchmarks.add_to(bench);
    }
    if constexpr (has_synth) add_synth();
    for (auto sub : {train, evaluate, describe, predict, bench, synth, inspect})
      if (sub) sub.fallthrough();
  }

  void add_synth() {
    auto& o = synth_options;
    synth = app.add_subcommand("synth", "write a synthetic dataset in the layout of the data source '" +
                                             std::string(Trainer::data_type::name) + "'");
    synth.add_option("--output", synth_output, "folder to write").required();
    synth.add_option("--train", o.train_images, "training images").check(non_negative_number());
    synth.add_option("--valid", o.valid_images, "validation images").check(non_negative_number());
    synth.add_option("--test", o.test_images, "test images").check(non_negative_number());
    synth.add_option("--min_side", o.min_side, "smallest image side in pixels").check(within(64, 10000));
    synth.add_option("--max_side", o.max_side, "largest image side in pixels").check(within(64, 10000));
    synth.add_option("--seed", o.seed, "generator seed");
  }

  std::string num_workers_;
  std::string omp_spincount_;  // read before parsing (app/openmp_env.hpp); here for --help and validation
  bool use_compile_ = false;
  bool multi_gpu_ = false;
  std::vector<std::pair<flag_option, const policy_flag*>> orphans_;
  std::deque<std::string> orphan_values_;  // stable addresses for the parser to bind
};

}  // namespace mixtrain::app
