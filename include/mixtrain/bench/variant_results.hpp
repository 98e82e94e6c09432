#pragma once
// mixtrain-bench's results: what one `bench step` run printed, the summary of
// a variant over its repeats (medians with their spread), and the reports
// (Markdown table, JSON, SVG bar chart). No LibTorch: the runner and its
// tests compile in seconds.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <mixtrain/io/svg_chart.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::bench {

// One execution of `<variant> bench step`.
struct run_result {
  bool ok = false;
  std::string error;          // why it failed: the tail of stderr, or the exit status
  std::vector<double> step_s; // timed steps
  double median_step_s = 0;
  int batch_size = 0;
  double peak_rss_mb = 0;
  std::optional<double> peak_gpu_mb;             // CUDA's caching allocator, on a CUDA device only
  std::optional<double> data_wait_fraction;      // only when fed by the recipe's pipeline
  std::optional<double> end_to_end_images_per_s; // steps and waits for their batches together
  nlohmann::json raw;         // the JSON line as printed
};

// The last line of the output that parses as a JSON object from `bench step`.
MIXTRAIN_COLD run_result parse_step_output(const std::string& stdout_text);

// Linear interpolation between order statistics (numpy's default).
MIXTRAIN_COLD double quantile(std::vector<double> v, double q);

struct variant_summary {
  std::string name;
  std::vector<std::pair<std::string, std::string>> axes;  // in the manifest's order
  bool ok = false;
  std::string error;
  int runs_ok = 0, runs_failed = 0;
  double median_step_s = 0;            // median over repeats of each run's median
  double spread_lo_s = 0, spread_hi_s = 0;  // min and max of the repeats' medians
  double p90_step_s = 0;               // over every timed step of every repeat
  double images_per_s = 0;
  double peak_rss_mb = 0;              // the largest of the runs
  std::optional<double> peak_gpu_mb;   // likewise, when the runs were on CUDA
  std::optional<double> data_wait_fraction;  // medians over repeats; absent for random batches
  std::optional<double> end_to_end_images_per_s;
  std::optional<double> build_s;       // compile + link of the executable
  std::optional<long long> params;
  nlohmann::json policies = nlohmann::json::array();
  std::optional<double> speedup;       // baseline median / this median (>1: faster)
  std::optional<double> val_mre;       // after --train_minutes: the last validation MRE
  std::optional<int> trained_epochs;
};

MIXTRAIN_COLD variant_summary summarise_runs(std::string name, const std::vector<run_result>& runs);

MIXTRAIN_COLD void set_speedups(std::vector<variant_summary>& all, const std::string& baseline);

// "model=hrnet_small amp=bf16 ..." from the axes, else the name.
MIXTRAIN_COLD std::string label(const variant_summary& s);

MIXTRAIN_COLD nlohmann::json to_json(const variant_summary& s);

MIXTRAIN_COLD std::string markdown_table(const std::vector<variant_summary>& all, const std::string& baseline);

// Horizontal bars of images/s, whiskers over the repeats' spread; a failed
// variant gets a labelled empty row.
MIXTRAIN_COLD std::string svg_bar_chart(const std::vector<variant_summary>& all, const std::string& title);

}  // namespace mixtrain::bench

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/bench/impl/variant_results.ipp>
#endif
