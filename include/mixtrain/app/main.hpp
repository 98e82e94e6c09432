#pragma once
// mt::main<recipe>(argc, argv): the recipe executable. Subcommands train
// (default), evaluate, predict, describe, bench and synth; numbers have the
// recipe's compiled defaults and flags may override them, structure may not.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/app/bench.hpp>
#include <mixtrain/app/report.hpp>
#include <mixtrain/core/trainer.hpp>
#include <mixtrain/data/aariz_reader.hpp>
#include <mixtrain/data/synthetic_aariz.hpp>

namespace mixtrain {

namespace app {

// Flags a user may know from the seed script, and what makes each one work.
struct policy_flag {
  const char* flag;
  const char* needs;
};

inline constexpr std::array<policy_flag, 12> policy_flags = {{
    {"--mixed_precision", "mt::policy::amp<mt::bf16> (or mt::policy::amp<mt::fp16>)"},
    {"--use_ema", "mt::policy::ema<{.decay = 0.9998}>"},
    {"--ema_decay", "mt::policy::ema<{.decay = 0.9998}>"},
    {"--channels_last", "mt::policy::channels_last"},
    {"--gradient_accumulation_steps", "mt::policy::accumulate<{.steps = 4}>"},
    {"--early_stopping", "mt::policy::early_stopping<{.patience = 20}>"},
    {"--patience", "mt::policy::early_stopping<{.patience = 20}>"},
    {"--save_frequency", "mt::policy::checkpoint<{.every_epochs = 5}>"},
    {"--keep_best", "mt::policy::checkpoint<{.keep_best = 3}>"},
    {"--warmup_epochs", "mt::policy::warmup_cosine<{.warmup_epochs = 10}>"},
    {"--min_lr", "mt::policy::warmup_cosine<{.min_lr = 1e-6}>"},
    {"--clip_grad_norm", "mt::policy::grad_clip<{.max_norm = 1.0}>"},
}};

inline std::string executable_name(const char* argv0) {
  return argv0 ? std::filesystem::path(argv0).filename().string() : std::string("recipe");
}

inline data::landmark_set numbered_landmarks(int count) {
  data::landmark_set set;
  for (int i = 1; i <= count; ++i) {
    set.symbols.push_back("L" + std::to_string(i));
    set.titles.push_back("landmark " + std::to_string(i));
  }
  return set;
}

inline data::landmark_set aariz_landmarks() {
  data::landmark_set set;
  for (const auto& t : data::synthetic::aariz_landmarks) {
    set.symbols.emplace_back(t.symbol);
    set.titles.emplace_back(t.title);
  }
  return set;
}

inline void require_dataset(const std::filesystem::path& path) {
  if (path.empty()) throw CLI::ValidationError("--dataset_path", "is required for this command (an Aariz-layout folder)");
  if (!std::filesystem::is_directory(path))
    throw CLI::ValidationError("--dataset_path", "'" + path.string() + "' is not a directory");
}

}  // namespace app

// Predicts landmarks on images without annotations: one JSON object per image,
// coordinates in original pixels.
template <class Trainer>
int predict_images(Trainer& t, const data::landmark_set& landmarks, const std::vector<std::filesystem::path>& files) {
  data::split inputs{"predict", {}};
  for (const auto& file : files) {
    data::annotated_image image;
    image.id = file.stem().string();
    image.image_path = file;
    if (const auto size = data::read_image_header_size(file)) {
      image.width = size->width;
      image.height = size->height;
    }
    image.landmarks.resize(landmarks.size());
    image.present.assign(landmarks.size(), 0);
    inputs.images.push_back(std::move(image));
  }
  const auto result = t.evaluate(inputs, nullptr);
  for (std::size_t i = 0; i < files.size(); ++i) {
    nlohmann::json points = nlohmann::json::object();
    for (std::size_t k = 0; k < landmarks.size(); ++k)
      points[landmarks.symbols[k]] = {{"x", result.predictions[i][k].x}, {"y", result.predictions[i][k].y}};
    std::cout << nlohmann::json{{"image", files[i].string()}, {"landmarks", points}}.dump() << "\n";
  }
  return 0;
}

template <class Recipe>
int run_recipe(int argc, char** argv) {
  trainer<Recipe> t;
  auto& run = t.run;
  run.recipe_name = app::executable_name(argc > 0 ? argv[0] : nullptr);
  run.output_dir = std::filesystem::path("runs") / run.recipe_name;

  CLI::App cli{"mixtrain recipe '" + run.recipe_name + "': train and evaluate a landmark model", run.recipe_name};
  cli.option_defaults()->always_capture_default();
  cli.fallthrough();
  cli.require_subcommand(0, 1);

  std::vector<int> image_size = {t.data.config.image_size.width, t.data.config.image_size.height};
  std::string num_workers = std::to_string(run.fit.num_workers);
  cli.add_option("--dataset_path", run.dataset_path, "Aariz-layout dataset folder");
  cli.add_option("--image_size", image_size, "network input W H (multiples of 32)")
      ->expected(2)
      ->check([](const std::string& v) -> std::string {
        try {
          const int x = std::stoi(v);
          return x > 0 && x % 32 == 0 ? "" : "must be a positive multiple of 32, got " + v;
        } catch (...) {
          return "must be an integer, got '" + v + "'";
        }
      });
  cli.add_option("--batch_size", run.fit.batch_size, "images per micro-batch")->check(CLI::PositiveNumber);
  cli.add_option("--epochs", run.fit.epochs, "training epochs")->check(CLI::NonNegativeNumber);
  cli.add_option("--lr", t.optimizer_settings.config.lr, "learning rate")->check(CLI::PositiveNumber);
  cli.add_option("--num_workers", num_workers, "data worker threads, or 'auto' to measure and pick")
      ->check([](const std::string& v) -> std::string {
        if (v == "auto") return "";
        try {
          return std::stoi(v) >= 1 ? "" : "must be 'auto' or at least 1, got " + v;
        } catch (...) {
          return "must be 'auto' or a positive integer, got '" + v + "'";
        }
      });
  cli.add_option("--prefetch_batches", run.fit.prefetch_batches, "batches queued ahead of training")->check(CLI::PositiveNumber);
  cli.add_option("--memory_budget_mb", run.fit.memory_budget_mb, "cap on all bytes the data pipeline holds")
      ->check(CLI::Range(16, 1 << 20));
  cli.add_option("--cache_mb", run.fit.cache_mb, "decoded-image cache, pre-scaled (0 = off)")->check(CLI::NonNegativeNumber);
  cli.add_option("--threads", run.fit.threads, "LibTorch intra-op threads (0 = all cores)")->check(CLI::NonNegativeNumber);
  cli.add_option("--seed", run.fit.seed, "seed for initialisation, order and augmentation");
  cli.add_option("--output_dir", run.output_dir, "where the run writes its files");
  cli.add_option("--resume", run.resume, "checkpoint to continue a run from")->check(CLI::ExistingFile);
  cli.add_flag("--skip_bad_samples", run.skip_bad_samples, "count and skip unreadable samples instead of stopping");
  cli.add_option("--device", run.device, "cpu, or cuda when LibTorch has it");
  cli.add_option("--init_from", run.init_from, "start a new run from another run's weights only (fresh optimizer and counters)")
      ->check(CLI::ExistingFile);
  cli.add_option("--init_strict", run.init_strict, "with --init_from: every tensor must match by name and shape");

  // Policies register the flags of the numbers they own.
  t.emit(event::add_flags, cli);
  // Seed flags that no compiled-in policy claimed fail with what to add.
  std::vector<std::pair<CLI::Option*, const app::policy_flag*>> orphans;
  std::deque<std::string> orphan_values;  // stable addresses for CLI11 to bind
  for (const auto& pf : app::policy_flags) {
    const std::string name = pf.flag;
    if (cli.get_option_no_throw(name) == nullptr)
      orphans.emplace_back(cli.add_option(name, orphan_values.emplace_back(), "needs " + std::string(pf.needs) + " in the recipe")
                               ->expected(0, 1)
                               ->group("Not in this recipe"),
                           &pf);
  }
  bool use_compile = false, multi_gpu = false;
  cli.add_flag("--use_compile", use_compile, "accepted from the seed script; prints why it is not needed")
      ->group("Not in this recipe");
  cli.add_flag("--multi_gpu", multi_gpu, "data parallelism across GPUs")->group("Not in this recipe");

  auto* train = cli.add_subcommand("train", "train, validate each epoch, write checkpoints and metrics (default)");
  auto* evaluate = cli.add_subcommand("evaluate", "evaluate a checkpoint on a split and print the results table");
  std::filesystem::path checkpoint;
  std::string split_name = "valid";
  bool print_json = false;
  evaluate->add_option("--checkpoint", checkpoint, "checkpoint (default <output_dir>/last.pt)");
  evaluate->add_option("--split", split_name, "train, valid or test")->check(CLI::IsMember({"train", "valid", "test"}));
  auto* describe = cli.add_subcommand("describe", "print the recipe: model, parameters, policies and settings");
  int num_landmarks = 0;
  describe->add_option("--num_landmarks", num_landmarks, "landmark count (default: from --dataset_path, else Aariz's 29)")
      ->check(CLI::PositiveNumber);
  describe->add_flag("--json", print_json, "one JSON object");
  auto* predict = cli.add_subcommand("predict", "predict landmarks on images");
  std::vector<std::filesystem::path> predict_inputs;
  predict->add_option("--checkpoint", checkpoint, "checkpoint (default <output_dir>/last.pt)");
  predict->add_option("images", predict_inputs, "image files (PNG, JPEG, BMP)")->check(CLI::ExistingFile)->required();
  auto* bench = cli.add_subcommand("bench", "benchmarks: 'bench data' (the input pipeline alone), 'bench step' (one training step)");
  app::bench_command<trainer<Recipe>> bench_command;
  bench_command.add_to(*bench);
  auto* synth = cli.add_subcommand("synth", "write a synthetic Aariz-layout dataset");
  data::synthetic_options synth_options;
  std::filesystem::path synth_out;
  synth->add_option("--output", synth_out, "folder to write")->required();
  synth->add_option("--train", synth_options.train_images, "training images")->check(CLI::NonNegativeNumber);
  synth->add_option("--valid", synth_options.valid_images, "validation images")->check(CLI::NonNegativeNumber);
  synth->add_option("--test", synth_options.test_images, "test images")->check(CLI::NonNegativeNumber);
  synth->add_option("--min_side", synth_options.min_side, "smallest image side in pixels")->check(CLI::Range(64, 10000));
  synth->add_option("--max_side", synth_options.max_side, "largest image side in pixels")->check(CLI::Range(64, 10000));
  synth->add_option("--seed", synth_options.seed, "generator seed");
  for (auto* sub : {train, evaluate, describe, predict, bench, synth}) sub->fallthrough();

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }

  for (const auto& [option, pf] : orphans)
    if (option->count() > 0)
      throw CLI::ValidationError(pf->flag, std::string("this recipe was compiled without the policy it needs; add ") +
                                               pf->needs + " to the recipe's type list and rebuild");
  if (use_compile)
    std::cerr << "note: --use_compile is not needed: this recipe is already a compiled trainer specialised for its "
                 "model and policies (no graph capture step exists to enable)\n";
  if (multi_gpu)
    throw CLI::ValidationError("--multi_gpu", "data parallelism is not implemented yet; train on one device");
  if (synth->parsed() && synth_options.min_side > synth_options.max_side)
    throw CLI::ValidationError("--min_side", "must not exceed --max_side");

  t.data.config.image_size = {image_size[0], image_size[1]};
  if (num_workers == "auto") run.fit.num_workers = 0;
  else run.fit.num_workers = std::stoi(num_workers);
  // Thread counts are set deliberately: --threads, else OMP_NUM_THREADS, else all cores.
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const char* omp_threads = std::getenv("OMP_NUM_THREADS");
  const int env_threads = omp_threads ? std::atoi(omp_threads) : 0;
  torch::set_num_threads(run.fit.threads > 0 ? run.fit.threads : env_threads > 0 ? env_threads : cores);
  torch::manual_seed(run.fit.seed);
  if (run.device != "cpu" && !torch::cuda::is_available())
    throw CLI::ValidationError("--device", "'" + run.device + "' is not available in this build or machine");

  if (synth->parsed()) {
    data::write_synthetic_aariz(synth_out, synth_options);
    std::cout << "wrote synthetic Aariz-layout data to " << synth_out.string() << "\n";
    return 0;
  }

  if (describe->parsed()) {
    data::landmark_set landmarks;
    if (num_landmarks > 0) landmarks = app::numbered_landmarks(num_landmarks);
    else if (!run.dataset_path.empty()) {
      app::require_dataset(run.dataset_path);
      data::read_aariz_split(run.dataset_path, "train", landmarks);
    } else landmarks = app::aariz_landmarks();
    t.build(landmarks);
    const auto description = t.describe();
    if (print_json) std::cout << description.dump() << "\n";
    else std::cout << description.dump(2) << "\n";
    return 0;
  }

  if (bench->parsed()) return bench_command.run(t);

  if (predict->parsed()) {
    // The landmark set and the whole preprocessing contract come from the checkpoint.
    if (checkpoint.empty()) checkpoint = run.output_dir / "last.pt";
    const auto contract = io::read_contract(checkpoint);
    data::landmark_set landmarks{contract.symbols, contract.symbols};
    t.data.config.image_size = {contract.input_width, contract.input_height};
    t.build(landmarks);
    t.load_checkpoint(checkpoint, trainer<Recipe>::restore::weights_only);
    return predict_images(t, landmarks, predict_inputs);
  }

  app::require_dataset(run.dataset_path);
  data::landmark_set landmarks;
  const auto train_split = data::read_aariz_split(run.dataset_path, "train", landmarks);

  if (evaluate->parsed()) {
    t.build(landmarks);
    if (checkpoint.empty()) checkpoint = run.output_dir / "last.pt";
    t.load_checkpoint(checkpoint, trainer<Recipe>::restore::weights_only);
    const auto split = split_name == "train" ? train_split : data::read_aariz_split(run.dataset_path, split_name, landmarks);
    const metric::mean_shape_baseline baseline(train_split);
    const auto result = t.evaluate(split, &baseline);
    app::print_results_table(std::cout, result.errors, result.baseline_errors, landmarks,
                             "evaluation of " + checkpoint.string() + " on '" + split_name + "'");
    std::filesystem::create_directories(run.output_dir);
    const auto out = run.output_dir / ("evaluation_" + split_name + ".json");
    app::write_json(out, app::metrics_json(result.errors, result.baseline_errors, landmarks, split_name));
    std::cout << "wrote " << out.string() << "\n";
    return 0;
  }

  // train
  const auto valid_split = data::read_aariz_split(run.dataset_path, "valid", landmarks);
  t.build(landmarks);
  if (!run.resume.empty()) {
    t.load_checkpoint(run.resume, trainer<Recipe>::restore::everything);
    std::cout << "resuming " << run.resume.string() << " at epoch " << t.ctx().epoch + 1 << ", batch "
              << t.ctx().batch_in_epoch << "\n";
  }
  std::filesystem::create_directories(run.output_dir);
  auto config = t.describe();
  config["run"] = {{"dataset_path", run.dataset_path.string()},
                   {"output_dir", run.output_dir.string()},
                   {"epochs", run.fit.epochs},
                   {"batch_size", run.fit.batch_size},
                   {"num_workers", run.fit.num_workers},
                   {"prefetch_batches", run.fit.prefetch_batches},
                   {"memory_budget_mb", run.fit.memory_budget_mb},
                   {"cache_mb", run.fit.cache_mb},
                   {"threads", torch::get_num_threads()},
                   {"seed", run.fit.seed},
                   {"device", run.device},
                   {"train_images", train_split.images.size()},
                   {"valid_images", valid_split.images.size()}};
  app::write_json(run.output_dir / "config.json", config);
  std::cout << fmt::format("{}: {} ({} parameters), {} landmarks, {} train / {} valid images, {} epochs\n", run.recipe_name,
                           Recipe::model::name, t.parameter_count(), landmarks.size(), train_split.images.size(),
                           valid_split.images.size(), run.fit.epochs);
  const auto result = t.fit(train_split, valid_split);
  if (result.epochs_run == 0 && run.fit.epochs > 0 && t.ctx().epoch >= run.fit.epochs) {
    std::cout << "nothing to do: the checkpoint already finished " << run.fit.epochs << " epochs\n";
    return 0;
  }
  if (t.ctx().stop_requested) std::cout << "stopped: " << t.ctx().stop_reason << "\n";
  if (t.ctx().batch_in_epoch > 0) {
    std::cout << "interrupted mid-epoch; continue with --resume on the recovery checkpoint\n";
    return 0;
  }
  if (result.epochs_run > 0) {
    auto metrics = app::metrics_json(result.validation.errors, result.validation.baseline_errors, landmarks, "valid");
    metrics["epochs_run"] = t.ctx().epoch;
    app::write_json(run.output_dir / "metrics.json", metrics);
    app::print_results_table(std::cout, result.validation.errors, result.validation.baseline_errors, landmarks,
                             "validation after the last epoch");
    std::cout << "wrote " << (run.output_dir / "metrics.json").string() << ", metrics.csv, config.json and last.pt\n";
  }
  return 0;
}

// The entry point of a recipe executable: errors become one clear line and a
// non-zero exit status.
template <class Recipe>
int main(int argc, char** argv) {
  try {
    return run_recipe<Recipe>(argc, argv);
  } catch (const CLI::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace mixtrain
