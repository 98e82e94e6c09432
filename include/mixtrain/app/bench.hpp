#pragma once
// The recipe's `bench` subcommand:
//   bench data  the input pipeline alone (no model): images/s, peak memory and
//               the per-image cost split into decode, warp and the rest
//               (app/bench_data.hpp);
//   bench step  one full training step (forward, loss, backward, optimizer,
//               with the recipe's policies) on synthetic random batches
//               (app/bench_step.hpp).
// Each prints human-readable lines first and, as its last line, one JSON
// object for scripts. A recipe whose data source or task lacks what one of
// them needs does not offer it.
#include <CLI/CLI.hpp>

#include <mixtrain/app/bench_data.hpp>
#include <mixtrain/app/bench_step.hpp>
#include <mixtrain/app/cli_app.hpp>
#include <mixtrain/app/common.hpp>

namespace mixtrain::app {

template <class Trainer>
struct bench_command {
  static constexpr bool has_data = aariz_pipeline_recipe<Trainer>;
  static constexpr bool has_step = landmark_batch_recipe<Trainer>;

  CLI::App* data = nullptr;
  CLI::App* step = nullptr;
  bench_data_options data_options;
  bench_step_options step_options;

  void add_to(CLI::App& bench) {
    bench.require_subcommand(1, 1);
    if constexpr (has_data) {
      auto& o = data_options;
      data = add_cli_subcommand(bench, "data", "time the data pipeline alone: decode, warp, augment, batch (no model)");
      data->add_option("--batches", o.batches, "timed batches")->check(CLI::PositiveNumber);
      data->add_option("--warmup", o.warmup, "untimed batches before timing (thread start, first decodes)")
          ->check(CLI::NonNegativeNumber);
      data->add_flag("--warm_cache", o.warm_cache,
                     "run one untimed pass over the split first, so the timed batches read the --cache_mb cache");
      data->add_option("--split", o.split, "which split's images to read")->check(CLI::IsMember({"train", "valid", "test"}));
      data->fallthrough();
    }
    if constexpr (has_step) {
      auto& o = step_options;
      step = add_cli_subcommand(bench, "step", "time one full training step on synthetic random batches (no data)");
      step->add_option("--steps", o.steps, "timed steps")->check(CLI::PositiveNumber);
      step->add_option("--warmup", o.warmup, "untimed steps first")->check(CLI::NonNegativeNumber);
      step->add_option("--num_landmarks", o.num_landmarks, "landmark count of the model (default: from --dataset_path, else 29)")->check(CLI::PositiveNumber);
      step->fallthrough();
    }
  }

  // Call after the command line is parsed and its values are in `t`.
  int run(Trainer& t) {
    if constexpr (has_data)
      if (data->parsed()) return run_bench_data(t, data_options);
    if constexpr (has_step)
      if (step->parsed()) return run_bench_step(t, step_options);
    throw CLI::ValidationError("bench", "name a benchmark: 'bench data' or 'bench step'");
  }
};

}  // namespace mixtrain::app
