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
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <mixtrain/bench/variant_results.hpp>

namespace fs = std::filesystem;
namespace mb = mixtrain::bench;

namespace {

struct process_result {
  int status = -1;  // exit status; 128 + signal when killed
  bool timed_out = false;
  std::string out, err;
};

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs argv with stdout and stderr to files in `scratch`. After timeout_s it
// gets `stop_signal`; a process still there grace_s later is killed.
process_result run_process(const std::vector<std::string>& argv, const fs::path& scratch, double timeout_s,
                           int stop_signal = SIGKILL, double grace_s = 0) {
  const auto out_path = scratch / "stdout.txt", err_path = scratch / "stderr.txt";
  process_result r;
  const pid_t pid = fork();
  if (pid == 0) {
    if (!std::freopen(out_path.c_str(), "w", stdout) || !std::freopen(err_path.c_str(), "w", stderr)) _exit(126);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    std::fprintf(stderr, "cannot execute %s\n", args[0]);
    _exit(127);
  }
  if (pid < 0) {
    r.err = "fork failed";
    return r;
  }
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  bool stopping = false;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!stopping && elapsed > timeout_s) {
      kill(pid, stop_signal);
      stopping = r.timed_out = true;
    }
    if (stopping && elapsed > timeout_s + grace_s) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_text(out_path);
  r.err = read_text(err_path);
  return r;
}

// The last few non-empty lines of stderr: the error as the variant told it.
std::string error_of(const process_result& p) {
  std::vector<std::string> lines;
  std::istringstream in(p.err);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  std::string tail;
  for (auto i = lines.size() > 3 ? lines.size() - 3 : 0; i < lines.size(); ++i) tail += (tail.empty() ? "" : " / ") + lines[i];
  const std::string status = p.timed_out ? "timed out" : fmt::format("exit status {}", p.status);
  return tail.empty() ? status : status + ": " + tail;
}

std::optional<double> read_seconds(const nlohmann::ordered_json& v, const char* key) {
  if (!v.contains(key)) return std::nullopt;
  std::ifstream in(v[key].get<std::string>());
  double s = 0;
  if (in >> s) return s;
  return std::nullopt;
}

// Busy-loop child processes: the load of "one core taken".
class busy_load {
 public:
  busy_load() = default;
  busy_load(const busy_load&) = delete;
  busy_load& operator=(const busy_load&) = delete;
  ~busy_load() { set(0); }

  void set(int cores) {
    while (static_cast<int>(children_.size()) > cores) {
      kill(children_.back(), SIGKILL);
      waitpid(children_.back(), nullptr, 0);
      children_.pop_back();
    }
    while (static_cast<int>(children_.size()) < cores) {
      const pid_t pid = fork();
      if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the runner
        volatile unsigned long spin = 0;
        while (true) spin = spin + 1;
      }
      if (pid < 0) throw std::runtime_error("--busy_cores: fork failed");
      children_.push_back(pid);
    }
  }

 private:
  std::vector<pid_t> children_;
};

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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mixtrain-bench: run a manifest's variants with `bench step`, interleaved, and report"};
  fs::path manifest_path, output = "bench-variants";
  int repeats = 3, steps = 5, warmup = 2;
  double timeout_s = 600;
  std::string baseline, dataset_path, data = "synthetic", busy_cores_text = "0";
  int synthetic_images = 48;
  double train_minutes = 0;
  app.add_option("--manifest", manifest_path, "manifest.json written by mixtrain_add_variants")->required()->check(CLI::ExistingFile);
  app.add_option("--output", output, "folder for results.md, results.json and images_per_s.svg");
  app.add_option("--repeats", repeats, "rounds over all variants (at least 3 for a spread)")->check(CLI::PositiveNumber);
  app.add_option("--steps", steps, "timed steps per run")->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup, "untimed steps per run")->check(CLI::NonNegativeNumber);
  app.add_option("--baseline", baseline, "variant the others are compared to (default: the manifest's)");
  app.add_option("--dataset_path", dataset_path, "real data for every variant (its landmark set too); default: --data");
  app.add_option("--data", data, "without --dataset_path: 'synthetic' (a tree the first variant writes) or 'random' batches")
      ->check(CLI::IsMember({"synthetic", "random"}));
  app.add_option("--synthetic_images", synthetic_images, "training images of the synthetic tree")
      ->check(CLI::PositiveNumber);
  app.add_option("--train_minutes", train_minutes,
                 "each row also trains this long (then SIGTERM) and reports its last validation MRE")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--busy_cores", busy_cores_text,
                 "load levels, e.g. 0,1: every row also runs with that many busy-loop processes beside it");
  app.add_option("--timeout_s", timeout_s, "a run taking longer fails")->check(CLI::PositiveNumber);
  std::vector<std::string> run_axes;
  app.add_option("--run_axis", run_axes,
                 "a run-time axis, <flag>=<v1>,<v2> (e.g. threads=1,2): every variant runs with each value");
  app.allow_extras();
  CLI11_PARSE(app, argc, argv);
  std::vector<std::string> extra = app.remaining();
  if (!extra.empty() && extra.front() == "--") extra.erase(extra.begin());

  const auto manifest = nlohmann::ordered_json::parse(read_text(manifest_path));  // axes in AXES order
  if (baseline.empty()) baseline = manifest.value("baseline", "");
  const auto& variants = manifest.at("variants");
  const std::size_t n = variants.size();
  fs::create_directories(output / "logs");
  std::vector<mb::variant_summary> summaries(n);
  std::vector<std::vector<mb::run_result>> runs(n);
  std::vector<bool> broken(n, false);  // describe failed: not run again

  for (std::size_t i = 0; i < n; ++i) {
    const auto& v = variants[i];
    auto& s = summaries[i];
    s.name = v.at("name").get<std::string>();
    const auto axes = v.value("axes", nlohmann::ordered_json::object());
    for (const auto& [axis, value] : axes.items()) s.axes.emplace_back(axis, value.get<std::string>());
    const auto compile = read_seconds(v, "compile_seconds_file"), link = read_seconds(v, "link_seconds_file");
    if (compile || link) s.build_s = compile.value_or(0) + link.value_or(0);
    std::vector<std::string> cmd = {v.at("executable").get<std::string>(), "describe", "--json"};
    if (!dataset_path.empty()) cmd.insert(cmd.end(), {"--dataset_path", dataset_path});
    fs::create_directories(output / "logs" / s.name);
    if (!fs::exists(cmd[0])) {
      s.error = "executable not found: " + cmd[0] + " (not built?)";
      broken[i] = true;
      continue;
    }
    const auto p = run_process(cmd, output / "logs" / s.name, 120);
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

  // The data every variant reads: --dataset_path, else a synthetic tree written
  // once by the first variant that runs (full-size images, as the real set).
  std::string data_note = dataset_path.empty() ? "random batches" : dataset_path;
  if (dataset_path.empty() && data == "synthetic") {
    for (std::size_t i = 0; i < n && dataset_path.empty(); ++i) {
      if (broken[i]) continue;
      const auto tree = fs::absolute(output / "synthetic-data");
      fs::remove_all(tree);
      const auto p = run_process({variants[i].at("executable").get<std::string>(), "synth", "--output", tree.string(),
                                  "--train", std::to_string(synthetic_images), "--valid",
                                  train_minutes > 0 ? "16" : "0", "--test", "0"},
                                 output / "logs" / summaries[i].name, timeout_s);
      if (p.status == 0) {
        dataset_path = tree.string();
        data_note = fmt::format("the recipe's pipeline over {} synthetic full-size images written by {}",
                                synthetic_images, summaries[i].name);
      } else {
        std::cerr << "note: " << summaries[i].name << " could not write synthetic data (" << error_of(p)
                  << "); random batches\n";
      }
    }
  } else if (!dataset_path.empty()) {
    data_note = "the recipe's pipeline over " + dataset_path;
  }

  // Run-time axes multiply the rows: each variant with each combination of flags.
  std::vector<std::vector<std::pair<std::string, std::string>>> combos{{}};
  for (const auto& spec : run_axes) {
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
  const auto busy_levels = parse_counts(busy_cores_text, "--busy_cores");
  if (busy_levels.size() > 1 || busy_levels.front() != 0) {  // load is an axis too: a row per level
    std::vector<std::vector<std::pair<std::string, std::string>>> next;
    for (const int level : busy_levels)
      for (auto c : combos) {
        c.emplace_back("busy_cores", std::to_string(level));
        next.push_back(std::move(c));
      }
    combos = std::move(next);
  }
  std::vector<std::size_t> variant_of;
  std::vector<int> busy_of;
  std::vector<std::vector<std::string>> flags_of;
  std::vector<mb::variant_summary> rows;
  std::vector<bool> row_broken;
  for (const auto& c : combos)
    for (std::size_t i = 0; i < n; ++i) {
      auto info = summaries[i];
      std::vector<std::string> flags;
      int busy = 0;
      for (const auto& [flag, value] : c) {
        if (flag == "busy_cores") busy = std::stoi(value);
        else flags.push_back("--" + flag + "=" + value);  // one token: flags with optional values too
        info.name += "__" + flag + "-" + value;
        info.axes.emplace_back(flag, value);
      }
      if (&c == &combos.front() && summaries[i].name == baseline) baseline = info.name;
      variant_of.push_back(i);
      busy_of.push_back(busy);
      flags_of.push_back(std::move(flags));
      rows.push_back(std::move(info));
      row_broken.push_back(broken[i]);
    }
  summaries = std::move(rows);
  broken = std::move(row_broken);
  const std::size_t m = summaries.size();
  runs.assign(m, {});

  busy_load load;
  for (int round = 0; round < repeats; ++round) {
    for (std::size_t k = 0; k < m; ++k) {
      const std::size_t i = (k + static_cast<std::size_t>(round)) % m;
      if (broken[i]) continue;
      load.set(busy_of[i]);
      const auto& v = variants[variant_of[i]];
      std::vector<std::string> cmd = {v.at("executable").get<std::string>(), "bench", "step", "--steps",
                                      std::to_string(steps), "--warmup", std::to_string(warmup)};
      if (!dataset_path.empty()) cmd.insert(cmd.end(), {"--dataset_path", dataset_path});
      cmd.insert(cmd.end(), extra.begin(), extra.end());
      cmd.insert(cmd.end(), flags_of[i].begin(), flags_of[i].end());
      const auto folder = output / "logs" / summaries[i].name / fmt::format("round{}", round);
      fs::create_directories(folder);
      const auto p = run_process(cmd, folder, timeout_s);
      auto r = mb::parse_step_output(p.out);
      if (p.status != 0 || p.timed_out) {
        r.ok = false;
        r.error = error_of(p);
      }
      std::cerr << fmt::format("round {}/{} {}: {}\n", round + 1, repeats, mb::label(summaries[i]),
                               r.ok ? fmt::format("{:.3f} s/step", r.median_step_s) : "FAILED: " + r.error);
      runs[i].push_back(std::move(r));
    }
  }
  load.set(0);

  // Speed and accuracy in one table: each row trains for --train_minutes on
  // the same data, stopped by SIGTERM (a recovery checkpoint, a clean exit).
  std::vector<std::optional<std::pair<double, int>>> trained(m);
  if (train_minutes > 0 && dataset_path.empty())
    std::cerr << "note: --train_minutes needs data (--dataset_path or --data synthetic); not trained\n";
  for (std::size_t i = 0; train_minutes > 0 && !dataset_path.empty() && i < m; ++i) {
    if (broken[i]) continue;
    load.set(busy_of[i]);
    const auto folder = fs::absolute(output / "train" / summaries[i].name);
    fs::remove_all(folder);
    fs::create_directories(folder);
    std::vector<std::string> cmd = {variants[variant_of[i]].at("executable").get<std::string>(), "train",
                                    "--dataset_path", dataset_path, "--output_dir", (folder / "run").string(),
                                    "--epochs", "100000"};
    cmd.insert(cmd.end(), extra.begin(), extra.end());
    cmd.insert(cmd.end(), flags_of[i].begin(), flags_of[i].end());
    run_process(cmd, folder, 60 * train_minutes, SIGTERM, 300);
    trained[i] = last_validation(folder / "run" / "metrics.csv");
    std::cerr << fmt::format("train {:.1f} min {}: {}\n", train_minutes, mb::label(summaries[i]),
                             trained[i] ? fmt::format("val MRE {:.3f} after {} epochs", trained[i]->first,
                                                      trained[i]->second)
                                        : "no epoch finished (see " + (folder / "stderr.txt").string() + ")");
  }
  load.set(0);

  for (std::size_t i = 0; i < m; ++i) {
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
  mb::set_speedups(summaries, baseline);

  nlohmann::json report = {{"manifest", manifest_path.string()}, {"name", manifest.value("name", "")},
                           {"baseline", baseline}, {"repeats", repeats}, {"steps", steps}, {"warmup", warmup},
                           {"dataset_path", dataset_path.empty() ? nlohmann::json() : nlohmann::json(dataset_path)},
                           {"data", data_note}, {"busy_cores", busy_levels}, {"train_minutes", train_minutes}, {"run_time_flags", extra},
                           {"run_axes", run_axes}, {"variants", nlohmann::json::array()}};
  for (const auto& s : summaries) report["variants"].push_back(mb::to_json(s));
  std::string flags;
  for (const auto& e : extra) flags += " " + e;
  std::ofstream(output / "results.json") << report.dump(2) << "\n";
  std::ofstream(output / "results.md") << fmt::format(
      "`bench step --steps {} --warmup {}{}`, {} interleaved rounds; medians over rounds; data: {}.\n\n{}", steps,
      warmup, flags, repeats, data_note,
      mb::markdown_table(summaries, baseline));
  std::ofstream(output / "images_per_s.svg")
      << mb::svg_bar_chart(summaries, fmt::format("{}: images/s per variant", manifest.value("name", "")));
  std::cout << read_text(output / "results.md") << "\n";
  std::cout << "wrote " << (output / "results.md").string() << ", " << (output / "results.json").string() << ", "
            << (output / "images_per_s.svg").string() << "\n";
  int failed = 0;
  for (const auto& s : summaries) failed += s.ok ? 0 : 1;
  return failed == static_cast<int>(m) ? 1 : 0;  // some failed: reported; all failed: an error
}
