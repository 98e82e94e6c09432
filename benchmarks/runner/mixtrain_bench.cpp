// mixtrain-bench: runs every variant of a mixtrain_add_variants manifest with
// `bench step` on the same input, interleaved in rounds (round r starts at
// variant r, so drift of the machine reaches every variant alike), and writes
// results.md, results.json and images_per_s.svg to --output.
//
//   mixtrain-bench --manifest <build>/variants/<name>/manifest.json [--output DIR]
//                  [--repeats 3] [--steps 5] [--warmup 2] [--baseline NAME]
//                  [--dataset_path D] [--timeout_s 600] [--run_axis threads=1,2 ...]
//                  [-- <run-time flags for every variant>]
//
// Run-time flags common to all (--batch_size, --image_size ...) go after `--`;
// --run_axis runs every variant with each value of a flag (a row each).
// A variant that fails (exit status, crash, timeout, no JSON) is reported as
// failed with its error; the others still run.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
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

// Runs argv with stdout and stderr to files in `scratch`, killed after timeout_s.
process_result run_process(const std::vector<std::string>& argv, const fs::path& scratch, double timeout_s) {
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
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > timeout_s) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      r.timed_out = true;
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mixtrain-bench: run a manifest's variants with `bench step`, interleaved, and report"};
  fs::path manifest_path, output = "bench-variants";
  int repeats = 3, steps = 5, warmup = 2;
  double timeout_s = 600;
  std::string baseline, dataset_path;
  app.add_option("--manifest", manifest_path, "manifest.json written by mixtrain_add_variants")->required()->check(CLI::ExistingFile);
  app.add_option("--output", output, "folder for results.md, results.json and images_per_s.svg");
  app.add_option("--repeats", repeats, "rounds over all variants (at least 3 for a spread)")->check(CLI::PositiveNumber);
  app.add_option("--steps", steps, "timed steps per run")->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup, "untimed steps per run")->check(CLI::NonNegativeNumber);
  app.add_option("--baseline", baseline, "variant the others are compared to (default: the manifest's)");
  app.add_option("--dataset_path", dataset_path, "real data: the landmark set comes from it (default: random batches)");
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
  std::vector<std::size_t> variant_of;
  std::vector<std::vector<std::string>> flags_of;
  std::vector<mb::variant_summary> rows;
  std::vector<bool> row_broken;
  for (const auto& c : combos)
    for (std::size_t i = 0; i < n; ++i) {
      auto info = summaries[i];
      std::vector<std::string> flags;
      for (const auto& [flag, value] : c) {
        flags.insert(flags.end(), {"--" + flag, value});
        info.name += "__" + flag + "-" + value;
        info.axes.emplace_back(flag, value);
      }
      if (&c == &combos.front() && summaries[i].name == baseline) baseline = info.name;
      variant_of.push_back(i);
      flags_of.push_back(std::move(flags));
      rows.push_back(std::move(info));
      row_broken.push_back(broken[i]);
    }
  summaries = std::move(rows);
  broken = std::move(row_broken);
  const std::size_t m = summaries.size();
  runs.assign(m, {});

  for (int round = 0; round < repeats; ++round) {
    for (std::size_t k = 0; k < m; ++k) {
      const std::size_t i = (k + static_cast<std::size_t>(round)) % m;
      if (broken[i]) continue;
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

  for (std::size_t i = 0; i < m; ++i) {
    auto s = mb::summarise_runs(summaries[i].name, runs[i]);
    s.axes = summaries[i].axes;
    s.build_s = summaries[i].build_s;
    s.params = summaries[i].params;
    s.policies = summaries[i].policies;
    if (!s.ok && s.error.empty()) s.error = summaries[i].error;
    summaries[i] = std::move(s);
  }
  mb::set_speedups(summaries, baseline);

  nlohmann::json report = {{"manifest", manifest_path.string()}, {"name", manifest.value("name", "")},
                           {"baseline", baseline}, {"repeats", repeats}, {"steps", steps}, {"warmup", warmup},
                           {"dataset_path", dataset_path.empty() ? nlohmann::json() : nlohmann::json(dataset_path)},
                           {"run_time_flags", extra}, {"run_axes", run_axes}, {"variants", nlohmann::json::array()}};
  for (const auto& s : summaries) report["variants"].push_back(mb::to_json(s));
  std::string flags;
  for (const auto& e : extra) flags += " " + e;
  std::ofstream(output / "results.json") << report.dump(2) << "\n";
  std::ofstream(output / "results.md") << fmt::format(
      "`bench step --steps {} --warmup {}{}`, {} interleaved rounds; medians over rounds, data: {}.\n\n{}", steps,
      warmup, flags, repeats, dataset_path.empty() ? "random batches" : dataset_path,
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
