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

#include <mixtrain/app/bench_data.hpp>
#include <mixtrain/app/bench_step.hpp>
#include <mixtrain/app/cli_app.hpp>
#include <mixtrain/app/common.hpp>
#include <mixtrain/core/flag_set.hpp>

namespace mixtrain::app {

template <class Trainer>
struct bench_command {
  static constexpr bool has_data = aariz_pipeline_recipe<Trainer>;
  static constexpr bool has_step = landmark_batch_recipe<Trainer>;

  flag_set data;
  flag_set step;
  bench_data_options data_options;
  bench_step_options step_options;

  void add_to(flag_set bench) {
    bench.require_subcommand(1, 1);
    if constexpr (has_data) {
      auto& o = data_options;
      data = bench.add_subcommand("data", "time the data pipeline alone: decode, warp, augment, batch (no model)");
      data.add_option("--batches", o.batches, "timed batches").check(positive_number());
      data.add_option("--warmup", o.warmup, "untimed batches before timing (thread start, first decodes)")
          .check(non_negative_number());
      data.add_flag("--warm_cache", o.warm_cache,
                     "run one untimed pass over the split first, so the timed batches read the --cache_mb cache");
      data.add_option("--split", o.split, "which split's images to read").check(one_of({"train", "valid", "test"}));
      data.fallthrough();
    }
    if constexpr (has_step) {
      auto& o = step_options;
      step = bench.add_subcommand("step", "time one full training step on synthetic random batches (no data)");
      step.add_option("--steps", o.steps, "timed steps").check(positive_number());
      step.add_option("--warmup", o.warmup, "untimed steps first").check(non_negative_number());
      step.add_option("--num_landmarks", o.num_landmarks, "landmark count of the model (default: from --dataset_path, else 29)").check(positive_number());
      step.fallthrough();
    }
  }

  // Call after the command line is parsed and its values are in `t`.
  int run(Trainer& t) {
    if constexpr (has_data)
      if (data.parsed()) return run_bench_data(t, data_options);
    if constexpr (has_step)
      if (step.parsed()) return run_bench_step(t, step_options);
    throw flag_error("bench", "name a benchmark: 'bench data' or 'bench step'");
  }
};

}  // namespace mixtrain::app
