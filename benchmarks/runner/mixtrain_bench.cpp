// mixtrain-bench: runs every variant of a mixtrain_add_variants manifest with
// `bench step` on the same input, interleaved in rounds (round r starts at
// variant r, so drift of the machine reaches every variant alike), and writes
// results.md, results.json and images_per_s.svg to --output.
//
//   mixtrain-bench --manifest <build>/variants/<name>/manifest.json [--output DIR]
//                  [--repeats 3] [--steps 5] [--warmup 2] [--baseline NAME]
//                  [--dataset_path D | --data synthetic|random] [--timeout_s 600]
//                  [--run_axis threads=1,2 ...] [--busy_cores 0,1] [--train_minutes M]
//                  [-- <run-time flags for every variant>]
//
// Run-time flags common to all (--batch_size, --image_size ...) go after `--`;
// --run_axis runs every variant with each value of a flag (a row each);
// --busy_cores runs every row again with that many busy-loop processes beside
// it (another program holding cores, as a compiler or a second job would).
// Data: the recipe's own pipeline (so the wait for batches is measured) over
// --dataset_path, else over a synthetic tree the first variant writes
// (--data synthetic, the default), else random batches (--data random).
// --train_minutes M: every row also trains for M minutes on that data (then
// SIGTERM: a recovery checkpoint and a clean exit) and the table shows its
// last validation MRE, so speed and accuracy sit side by side.
// A variant that fails (exit status, crash, timeout, no JSON) is reported as
// failed with its error; the others still run.
#include <csignal>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <mixtrain/bench/variant_results.hpp>

#include "child_process.hpp"

namespace fs = std::filesystem;
namespace mb = mixtrain::bench;
using mixtrain::bench_runner::busy_load;
using mixtrain::bench_runner::error_of;
using mixtrain::bench_runner::read_text;
using mixtrain::bench_runner::run_process;

namespace {

std::optional<double> read_seconds(const nlohmann::ordered_json& v, const char* key) {
  if (!v.contains(key)) return std::nullopt;
  std::ifstream in(v[key].get<std::string>());
  double s = 0;
  if (in >> s) return s;
  return std::nullopt;
}


// The last row's val_mre and epoch of a run's metrics.csv.
std::optional<std::pair<double, int>> last_validation(const fs::path& metrics_csv) {
  std::ifstream in(metrics_csv);
  std::string header, line, last;
  if (!std::getline(in, header)) return std::nullopt;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  if (last.empty()) return std::nullopt;
  auto split = [](const std::string& text) {
    std::vector<std::string> cells;
    std::istringstream cells_in(text);
    for (std::string cell; std::getline(cells_in, cell, ',');) cells.push_back(cell);
    return cells;
  };
  const auto names = split(header), values = split(last);
  std::optional<double> mre;
  std::optional<int> epoch;
  for (std::size_t k = 0; k < names.size() && k < values.size(); ++k) {
    if (names[k] == "val_mre") mre = std::stod(values[k]);
    if (names[k] == "epoch") epoch = std::stoi(values[k]);
  }
  if (!mre || !epoch) return std::nullopt;
  return std::pair{*mre, *epoch};
}

// A comma-separated list of non-negative integers.
std::vector<int> parse_counts(const std::string& text, const std::string& flag) {
  std::vector<int> out;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    std::size_t used = 0;
    int value = -1;
    try {
      value = std::stoi(item, &used);
    } catch (const std::exception&) {
    }
    if (value < 0 || used != item.size()) throw std::runtime_error(flag + " " + text + ": expected counts like 0,1");
    out.push_back(value);
  }
  if (out.empty()) throw std::runtime_error(flag + ": expected at least one count");
  return out;
}

struct options {
  fs::path manifest_path, output = "bench-variants";
  int repeats = 3, steps = 5, warmup = 2;
  double timeout_s = 600;
  std::string baseline, dataset_path, data = "synthetic", busy_cores_text = "0";
  int synthetic_images = 48;
  double train_minutes = 0;
  std::vector<std::string> run_axes;
  std::vector<std::string> extra;  // after `--`: run-time flags for every variant
};

// One row of the table: a variant with one combination of run-time flags and load.
struct row {
  std::size_t variant;
  int busy = 0;
  std::vector<std::string> flags;
};

// Each variant's build time, parameter count and policy list (`describe --json`);
// a variant whose describe fails is marked broken and not run again.
std::vector<bool> describe_variants(const options& o, const nlohmann::ordered_json& variants,
                                    std::vector<mb::variant_summary>& summaries) {
  const std::size_t n = variants.size();
  summaries.assign(n, {});
  std::vector<bool> broken(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& v = variants[i];
    auto& s = summaries[i];
    s.name = v.at("name").get<std::string>();
    const auto axes = v.value("axes", nlohmann::ordered_json::object());
    for (const auto& [axis, value] : axes.items()) s.axes.emplace_back(axis, value.get<std::string>());
    const auto compile = read_seconds(v, "compile_seconds_file"), link = read_seconds(v, "link_seconds_file");
    if (compile || link) s.build_s = compile.value_or(0) + link.value_or(0);
    std::vector<std::string> cmd = {v.at("executable").get<std::string>(), "describe", "--json"};
    if (!o.dataset_path.empty()) cmd.insert(cmd.end(), {"--dataset_path", o.dataset_path});
    fs::create_directories(o.output / "logs" / s.name);
    if (!fs::exists(cmd[0])) {
      s.error = "executable not found: " + cmd[0] + " (not built?)";
      broken[i] = true;
      continue;
    }
    const auto p = run_process(cmd, o.output / "logs" / s.name, 120);
    const auto j = nlohmann::json::parse(p.out, nullptr, false);
    if (p.status != 0 || j.is_discarded()) {
      s.error = "describe: " + error_of(p);
      broken[i] = true;
      continue;
    }
    s.params = j.value("params", 0LL);
    for (const auto& pol : j.value("policies", nlohmann::json::array())) {
      const auto name = pol.value("name", "?");
      if (name != "console_log" && name != "csv_log" && name != "progress") s.policies.push_back(name);  // in every variant
    }
  }
  return broken;
}

// The data every variant reads: --dataset_path, else a synthetic tree written
// once by the first variant that runs (full-size images, as the real set).
// Sets o.dataset_path when a tree was written; returns what the report says.
std::string prepare_data(options& o, const nlohmann::ordered_json& variants,
                         const std::vector<mb::variant_summary>& summaries, const std::vector<bool>& broken) {
  std::string data_note = o.dataset_path.empty() ? "random batches" : o.dataset_path;
  if (o.dataset_path.empty() && o.data == "synthetic") {
    for (std::size_t i = 0; i < variants.size() && o.dataset_path.empty(); ++i) {
      if (broken[i]) continue;
      const auto tree = fs::absolute(o.output / "synthetic-data");
      fs::remove_all(tree);
      const auto p = run_process({variants[i].at("executable").get<std::string>(), "synth", "--output", tree.string(),
                                  "--train", std::to_string(o.synthetic_images), "--valid",
                                  o.train_minutes > 0 ? "16" : "0", "--test", "0"},
                                 o.output / "logs" / summaries[i].name, o.timeout_s);
      if (p.status == 0) {
        o.dataset_path = tree.string();
        data_note = fmt::format("the recipe's pipeline over {} synthetic full-size images written by {}",
                                o.synthetic_images, summaries[i].name);
      } else {
        std::cerr << "note: " << summaries[i].name << " could not write synthetic data (" << error_of(p)
                  << "); random batches\n";
      }
    }
  } else if (!o.dataset_path.empty()) {
    data_note = "the recipe's pipeline over " + o.dataset_path;
  }
  return data_note;
}

// Run-time axes and load levels multiply the rows: each variant with each
// combination. Replaces summaries and broken by the rows' own; renames the
// baseline to its row without load and with each axis's first value.
std::vector<row> expand_rows(options& o, const std::vector<int>& busy_levels,
                             std::vector<mb::variant_summary>& summaries, std::vector<bool>& broken) {
  std::vector<std::vector<std::pair<std::string, std::string>>> combos{{}};
  for (const auto& spec : o.run_axes) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) throw std::runtime_error("--run_axis " + spec + ": expected <flag>=<v1>,<v2>");
    std::vector<std::vector<std::pair<std::string, std::string>>> next;
    std::istringstream values(spec.substr(eq + 1));
    for (std::string value; std::getline(values, value, ',');)
      for (auto c : combos) {
        c.emplace_back(spec.substr(0, eq), value);
        next.push_back(std::move(c));
      }
    combos = std::move(next);
  }
  if (busy_levels.size() > 1 || busy_levels.front() != 0) {  // load is an axis too: a row per level
    std::vector<std::vector<std::pair<std::string, std::string>>> next;
    for (const int level : busy_levels)
      for (auto c : combos) {
        c.emplace_back("busy_cores", std::to_string(level));
        next.push_back(std::move(c));
      }
    combos = std::move(next);
  }
  std::vector<row> rows;
  std::vector<mb::variant_summary> row_summaries;
  std::vector<bool> row_broken;
  for (const auto& c : combos)
    for (std::size_t i = 0; i < summaries.size(); ++i) {
      auto info = summaries[i];
      row r{.variant = i, .busy = 0, .flags = {}};
      for (const auto& [flag, value] : c) {
        if (flag == "busy_cores") r.busy = std::stoi(value);
        else r.flags.push_back("--" + flag + "=" + value);  // one token: flags with optional values too
        info.name += "__" + flag + "-" + value;
        info.axes.emplace_back(flag, value);
      }
      if (&c == &combos.front() && summaries[i].name == o.baseline) o.baseline = info.name;
      rows.push_back(std::move(r));
      row_summaries.push_back(std::move(info));
      row_broken.push_back(broken[i]);
    }
  summaries = std::move(row_summaries);
  broken = std::move(row_broken);
  return rows;
}

// `bench step` for every row, in rounds that start one row later each time.
std::vector<std::vector<mb::run_result>> measure_rounds(const options& o, const nlohmann::ordered_json& variants,
                                                        const std::vector<row>& rows,
                                                        const std::vector<mb::variant_summary>& summaries,
                                                        const std::vector<bool>& broken, busy_load& load) {
  const std::size_t m = rows.size();
  std::vector<std::vector<mb::run_result>> runs(m);
  for (int round = 0; round < o.repeats; ++round) {
    for (std::size_t k = 0; k < m; ++k) {
      const std::size_t i = (k + static_cast<std::size_t>(round)) % m;
      if (broken[i]) continue;
      load.set(rows[i].busy);
      const auto& v = variants[rows[i].variant];
      std::vector<std::string> cmd = {v.at("executable").get<std::string>(), "bench", "step", "--steps",
                                      std::to_string(o.steps), "--warmup", std::to_string(o.warmup)};
      if (!o.dataset_path.empty()) cmd.insert(cmd.end(), {"--dataset_path", o.dataset_path});
      cmd.insert(cmd.end(), o.extra.begin(), o.extra.end());
      cmd.insert(cmd.end(), rows[i].flags.begin(), rows[i].flags.end());
      const auto folder = o.output / "logs" / summaries[i].name / fmt::format("round{}", round);
      fs::create_directories(folder);
      const auto p = run_process(cmd, folder, o.timeout_s);
      auto r = mb::parse_step_output(p.out);
      if (p.status != 0 || p.timed_out) {
        r.ok = false;
        r.error = error_of(p);
      }
      std::cerr << fmt::format("round {}/{} {}: {}\n", round + 1, o.repeats, mb::label(summaries[i]),
                               r.ok ? fmt::format("{:.3f} s/step", r.median_step_s) : "FAILED: " + r.error);
      runs[i].push_back(std::move(r));
    }
  }
  load.set(0);
  return runs;
}

// Speed and accuracy in one table: each row trains for --train_minutes on
// the same data, stopped by SIGTERM (a recovery checkpoint, a clean exit).
std::vector<std::optional<std::pair<double, int>>> train_rows(const options& o, const nlohmann::ordered_json& variants,
                                                             const std::vector<row>& rows,
                                                             const std::vector<mb::variant_summary>& summaries,
                                                             const std::vector<bool>& broken, busy_load& load) {
  const std::size_t m = rows.size();
  std::vector<std::optional<std::pair<double, int>>> trained(m);
  if (o.train_minutes > 0 && o.dataset_path.empty())
    std::cerr << "note: --train_minutes needs data (--dataset_path or --data synthetic); not trained\n";
  for (std::size_t i = 0; o.train_minutes > 0 && !o.dataset_path.empty() && i < m; ++i) {
    if (broken[i]) continue;
    load.set(rows[i].busy);
    const auto folder = fs::absolute(o.output / "train" / summaries[i].name);
    fs::remove_all(folder);
    fs::create_directories(folder);
    std::vector<std::string> cmd = {variants[rows[i].variant].at("executable").get<std::string>(), "train",
                                    "--dataset_path", o.dataset_path, "--output_dir", (folder / "run").string(),
                                    "--epochs", "100000"};
    cmd.insert(cmd.end(), o.extra.begin(), o.extra.end());
    cmd.insert(cmd.end(), rows[i].flags.begin(), rows[i].flags.end());
    run_process(cmd, folder, 60 * o.train_minutes, SIGTERM, 300);
    trained[i] = last_validation(folder / "run" / "metrics.csv");
    std::cerr << fmt::format("train {:.1f} min {}: {}\n", o.train_minutes, mb::label(summaries[i]),
                             trained[i] ? fmt::format("val MRE {:.3f} after {} epochs", trained[i]->first,
                                                      trained[i]->second)
                                        : "no epoch finished (see " + (folder / "stderr.txt").string() + ")");
  }
  load.set(0);
  return trained;
}

// results.json, results.md and images_per_s.svg in --output; the table is printed too.
void write_reports(const options& o, const nlohmann::ordered_json& manifest, const std::string& data_note,
                   const std::vector<int>& busy_levels, const std::vector<mb::variant_summary>& summaries) {
  nlohmann::json report = {{"manifest", o.manifest_path.string()}, {"name", manifest.value("name", "")},
                           {"baseline", o.baseline}, {"repeats", o.repeats}, {"steps", o.steps}, {"warmup", o.warmup},
                           {"dataset_path", o.dataset_path.empty() ? nlohmann::json() : nlohmann::json(o.dataset_path)},
                           {"data", data_note}, {"busy_cores", busy_levels}, {"train_minutes", o.train_minutes},
                           {"run_time_flags", o.extra}, {"run_axes", o.run_axes}, {"variants", nlohmann::json::array()}};
  for (const auto& s : summaries) report["variants"].push_back(mb::to_json(s));
  std::string flags;
  for (const auto& e : o.extra) flags += " " + e;
  std::ofstream(o.output / "results.json") << report.dump(2) << "\n";
  std::ofstream(o.output / "results.md") << fmt::format(
      "`bench step --steps {} --warmup {}{}`, {} interleaved rounds; medians over rounds; data: {}.\n\n{}", o.steps,
      o.warmup, flags, o.repeats, data_note, mb::markdown_table(summaries, o.baseline));
  std::ofstream(o.output / "images_per_s.svg")
      << mb::svg_bar_chart(summaries, fmt::format("{}: images/s per variant", manifest.value("name", "")));
  std::cout << read_text(o.output / "results.md") << "\n";
  std::cout << "wrote " << (o.output / "results.md").string() << ", " << (o.output / "results.json").string() << ", "
            << (o.output / "images_per_s.svg").string() << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mixtrain-bench: run a manifest's variants with `bench step`, interleaved, and report"};
  options o;
  app.add_option("--manifest", o.manifest_path, "manifest.json written by mixtrain_add_variants")->required()->check(CLI::ExistingFile);
  app.add_option("--output", o.output, "folder for results.md, results.json and images_per_s.svg");
  app.add_option("--repeats", o.repeats, "rounds over all variants (at least 3 for a spread)")->check(CLI::PositiveNumber);
  app.add_option("--steps", o.steps, "timed steps per run")->check(CLI::PositiveNumber);
  app.add_option("--warmup", o.warmup, "untimed steps per run")->check(CLI::NonNegativeNumber);
  app.add_option("--baseline", o.baseline, "variant the others are compared to (default: the manifest's)");
  app.add_option("--dataset_path", o.dataset_path, "real data for every variant (its landmark set too); default: --data");
  app.add_option("--data", o.data, "without --dataset_path: 'synthetic' (a tree the first variant writes) or 'random' batches")
      ->check(CLI::IsMember({"synthetic", "random"}));
  app.add_option("--synthetic_images", o.synthetic_images, "training images of the synthetic tree")
      ->check(CLI::PositiveNumber);
  app.add_option("--train_minutes", o.train_minutes,
                 "each row also trains this long (then SIGTERM) and reports its last validation MRE")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--busy_cores", o.busy_cores_text,
                 "load levels, e.g. 0,1: every row also runs with that many busy-loop processes beside it");
  app.add_option("--timeout_s", o.timeout_s, "a run taking longer fails")->check(CLI::PositiveNumber);
  app.add_option("--run_axis", o.run_axes,
                 "a run-time axis, <flag>=<v1>,<v2> (e.g. threads=1,2): every variant runs with each value");
  app.allow_extras();
  CLI11_PARSE(app, argc, argv);
  o.extra = app.remaining();
  if (!o.extra.empty() && o.extra.front() == "--") o.extra.erase(o.extra.begin());

  const auto manifest = nlohmann::ordered_json::parse(read_text(o.manifest_path));  // axes in AXES order
  if (o.baseline.empty()) o.baseline = manifest.value("baseline", "");
  const auto& variants = manifest.at("variants");
  fs::create_directories(o.output / "logs");
  std::vector<mb::variant_summary> summaries;
  auto broken = describe_variants(o, variants, summaries);
  const auto data_note = prepare_data(o, variants, summaries, broken);
  const auto busy_levels = parse_counts(o.busy_cores_text, "--busy_cores");
  const auto rows = expand_rows(o, busy_levels, summaries, broken);

  busy_load load;
  const auto runs = measure_rounds(o, variants, rows, summaries, broken, load);
  const auto trained = train_rows(o, variants, rows, summaries, broken, load);

  for (std::size_t i = 0; i < rows.size(); ++i) {
    auto s = mb::summarise_runs(summaries[i].name, runs[i]);
    s.axes = summaries[i].axes;
    s.build_s = summaries[i].build_s;
    s.params = summaries[i].params;
    s.policies = summaries[i].policies;
    if (!s.ok && s.error.empty()) s.error = summaries[i].error;
    if (trained[i]) {
      s.val_mre = trained[i]->first;
      s.trained_epochs = trained[i]->second;
    }
    summaries[i] = std::move(s);
  }
  mb::set_speedups(summaries, o.baseline);
  write_reports(o, manifest, data_note, busy_levels, summaries);
  int failed = 0;
  for (const auto& s : summaries) failed += s.ok ? 0 : 1;
  return failed == static_cast<int>(rows.size()) ? 1 : 0;  // some failed: reported; all failed: an error
}
