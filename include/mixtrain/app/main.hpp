#pragma once
// mt::main<recipe>(argc, argv): the recipe executable. Subcommands train
// (default), evaluate, predict, describe, inspect, bench and synth; numbers have the
// recipe's compiled defaults and flags may override them, structure may not.
//   app/cli.hpp           the command line (flags from the owners' field lists)
//   app/commands.hpp      train, evaluate, predict, describe, inspect, synth
//   app/bench.hpp         bench data, bench step
//   app/policy_flags.hpp  seed-script flags of policies a recipe lacks
//   app/report.hpp        results tables, metrics.json
#include <filesystem>
#include <iostream>

#include <mixtrain/app/bench.hpp>
#include <mixtrain/app/cli.hpp>
#include <mixtrain/app/commands.hpp>
#include <mixtrain/app/common.hpp>
#include <mixtrain/app/omp_probe.hpp>
#include <mixtrain/app/openmp_env.hpp>
#include <mixtrain/core/flag_set.hpp>
#include <mixtrain/core/trainer.hpp>

namespace mixtrain {

namespace app {

// Runs the one command the command line names (train when none).
template <class Trainer>
int dispatch(Trainer& t, command_line<Trainer>& cl) {
  using cli = command_line<Trainer>;
  if constexpr (cli::has_synth)
    if (cli::parsed(cl.synth)) return run_synth(cl);
  if (cli::parsed(cl.describe)) return run_describe(t, cl);
  if constexpr (cli::has_inspect)
    if (cli::parsed(cl.inspect)) return run_inspect(t, cl);
  if constexpr (cli::has_bench)
    if (cli::parsed(cl.bench)) return cl.benchmarks.run(t);
  if constexpr (cli::has_predict)
    if (cli::parsed(cl.predict)) return run_predict(t, cl);
  if (cli::parsed(cl.evaluate)) return run_evaluate(t, cl);
  return run_train(t);
}

}  // namespace app

template <class Recipe>
int run_recipe(int argc, char** argv) {
  trainer<Recipe> t;
  t.run.recipe_name = app::executable_name(argc > 0 ? argv[0] : nullptr);
  t.run.output_dir = std::filesystem::path("runs") / t.run.recipe_name;
  app::command_line<trainer<Recipe>> cl(t);
  if (const auto status = cl.program.parse(argc, argv)) return *status;
  cl.finish(t);
  return app::dispatch(t, cl);
}

// The entry point of a recipe executable: errors become one clear line and a
// non-zero exit status.
template <class Recipe>
int main(int argc, char** argv) {
  app::run_omp_probe_if_asked();               // a child of the spin-count measurement
  app::settle_openmp_wait_policy(argc, argv);  // may re-execute: before any thread starts
  try {
    return run_recipe<Recipe>(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    // A flag refused after parsing, or CLI11's own error from a component
    // written against CLI::App (e.g. one flag registered twice): status 2.
    return dynamic_cast<const flag_error*>(&e) != nullptr || app::is_cli11_error(e) ? 2 : 1;
  }
}

}  // namespace mixtrain
