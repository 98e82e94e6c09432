// mixtrain-bench's result parsing and summaries (include/mixtrain/bench/variant_results.hpp).
#include <catch2/catch.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <sstream>
#include <string>

#include <mixtrain/app/omp_spin_measurement.hpp>
#include <mixtrain/bench/variant_results.hpp>

namespace mb = mixtrain::bench;

TEST_CASE("variants: the bench step JSON is found after log lines and parsed", "[variants]") {
  const auto r = mb::parse_step_output(
      "bench step: compact_unet 256x256 ...\n{not json\n"
      R"({"bench": "step", "batch_size": 4, "step_s": [0.5, 0.25, 0.75], "median_step_s": 0.5, "peak_rss_mb": 812.5})"
      "\n");
  REQUIRE(r.ok);
  CHECK(r.step_s == std::vector<double>{0.5, 0.25, 0.75});
  CHECK(r.batch_size == 4);
  CHECK(r.median_step_s == 0.5);
  CHECK(r.peak_rss_mb == 812.5);
}

TEST_CASE("variants: output without a bench step JSON line is an error", "[variants]") {
  CHECK_FALSE(mb::parse_step_output("").ok);
  const auto other = mb::parse_step_output(R"({"bench": "data", "images_per_s": 3})");
  CHECK_FALSE(other.ok);
  CHECK(other.error.find("no 'bench step' JSON") != std::string::npos);
  CHECK_FALSE(mb::parse_step_output(R"({"bench": "step", "batch_size": 2, "step_s": []})").ok);
}

TEST_CASE("variants: quantiles interpolate between order statistics", "[variants]") {
  CHECK(mb::quantile({3, 1, 2}, 0.5) == Approx(2));
  CHECK(mb::quantile({1, 2, 3, 4}, 0.5) == Approx(2.5));
  CHECK(mb::quantile({0, 10}, 0.9) == Approx(9));
}

TEST_CASE("variants: a summary takes the median of the repeats, their spread and the pooled p90", "[variants]") {
  auto run = [](double median, std::vector<double> steps) {
    mb::run_result r;
    r.ok = true;
    r.median_step_s = median;
    r.step_s = std::move(steps);
    r.batch_size = 8;
    r.peak_rss_mb = median * 1000;
    return r;
  };
  mb::run_result failed;
  failed.error = "exit status 1: boom";
  const auto s = mb::summarise_runs("v", {run(0.2, {0.2, 0.2}), failed, run(0.4, {0.4, 0.4}), run(0.25, {0.25, 0.25})});
  REQUIRE(s.ok);
  CHECK(s.runs_ok == 3);
  CHECK(s.runs_failed == 1);
  CHECK(s.error == "exit status 1: boom");
  CHECK(s.median_step_s == Approx(0.25));
  CHECK(s.spread_lo_s == Approx(0.2));
  CHECK(s.spread_hi_s == Approx(0.4));
  CHECK(s.images_per_s == Approx(32));
  CHECK(s.peak_rss_mb == Approx(400));
  CHECK(s.p90_step_s == Approx(0.4));
}

TEST_CASE("variants: the baseline ratio and the table mark failed variants", "[variants]") {
  std::vector<mb::variant_summary> all(3);
  all[0].name = "base";
  all[0].ok = true;
  all[0].median_step_s = all[0].spread_lo_s = all[0].spread_hi_s = 0.3;
  all[0].images_per_s = 10;
  all[1].name = "fast";
  all[1].ok = true;
  all[1].median_step_s = all[1].spread_lo_s = all[1].spread_hi_s = 0.1;
  all[1].images_per_s = 30;
  all[1].axes = {{"amp", "bf16"}};
  all[2].name = "broken";
  all[2].error = "exit status 134: bad | alloc";
  mb::set_speedups(all, "base");
  CHECK(*all[1].speedup == Approx(3));
  CHECK_FALSE(all[2].speedup.has_value());
  const auto md = mb::markdown_table(all, "base");
  CHECK(md.find("| base (baseline) |") != std::string::npos);
  CHECK(md.find("| amp=bf16 |") != std::string::npos);
  CHECK(md.find("**failed**: exit status 134: bad / alloc") != std::string::npos);
  CHECK(mb::to_json(all[2])["ok"] == false);
  CHECK(mb::svg_bar_chart(all, "t").find("failed</text>") != std::string::npos);
}

TEST_CASE("variants: a pipeline-fed run carries its data wait and end-to-end rate into the summary", "[variants]") {
  auto pipeline_run = [](double wait, double end_to_end) {
    return mb::parse_step_output(fmt::format(
        R"({{"bench": "step", "batch_size": 8, "step_s": [0.2], "median_step_s": 0.2, "data": "pipeline", )"
        R"("data_wait_fraction": {}, "end_to_end_images_per_s": {}}})",
        wait, end_to_end));
  };
  const auto random = mb::parse_step_output(
      R"({"bench": "step", "batch_size": 8, "step_s": [0.2], "median_step_s": 0.2, "data": "random", "data_wait_fraction": 0})");
  REQUIRE(random.ok);
  CHECK_FALSE(random.data_wait_fraction.has_value());  // random batches: nothing was waited for
  const auto s = mb::summarise_runs("v", {pipeline_run(0.5, 20), pipeline_run(0.1, 36), pipeline_run(0.2, 32)});
  REQUIRE(s.data_wait_fraction.has_value());
  CHECK(*s.data_wait_fraction == Approx(0.2));
  CHECK(*s.end_to_end_images_per_s == Approx(32));
  const auto md = mb::markdown_table({s}, "v");
  CHECK(md.find("| 32.0 | 40.0 |") != std::string::npos);  // end to end, then the step alone
  CHECK(md.find("| 20 % |") != std::string::npos);
}

TEST_CASE("variants: peak GPU memory is the largest of the runs and gets a column only when some variant has it", "[variants]") {
  auto gpu_run = [](const char* peak) {
    return mb::parse_step_output(fmt::format(
        R"({{"bench": "step", "batch_size": 2, "step_s": [0.1], "median_step_s": 0.1, "peak_rss_mb": 900, "peak_gpu_mb": {}}})",
        peak));
  };
  const auto cpu_run = mb::parse_step_output(
      R"({"bench": "step", "batch_size": 2, "step_s": [0.3], "median_step_s": 0.3, "peak_rss_mb": 700})");
  REQUIRE(cpu_run.ok);
  CHECK_FALSE(cpu_run.peak_gpu_mb.has_value());  // a CPU run has no GPU figure, not a 0
  CHECK_FALSE(gpu_run("null").peak_gpu_mb.has_value());
  auto on_gpu = mb::summarise_runs("gpu", {gpu_run("5120.5"), gpu_run("6144"), gpu_run("4096")});
  REQUIRE(on_gpu.peak_gpu_mb.has_value());
  CHECK(*on_gpu.peak_gpu_mb == Approx(6144));
  CHECK(mb::to_json(on_gpu)["peak_gpu_mb"] == Approx(6144));
  const auto on_cpu = mb::summarise_runs("cpu", {cpu_run});
  CHECK(mb::to_json(on_cpu)["peak_gpu_mb"].is_null());
  CHECK(mb::markdown_table({on_cpu}, "cpu").find("peak GPU MB") == std::string::npos);
  const auto md = mb::markdown_table({on_cpu, on_gpu}, "cpu");
  CHECK(md.find("| peak RSS MB | peak GPU MB | build s |") != std::string::npos);
  CHECK(md.find("| 700 | n/a | ? |") != std::string::npos);   // the CPU variant's row
  CHECK(md.find("| 900 | 6144 | ? |") != std::string::npos);  // the GPU variant's row
  // Every row has as many cells as the header.
  auto cells = [](const std::string& row) { return std::count(row.begin(), row.end(), '|'); };
  std::istringstream rows(md);
  std::string header, row;
  std::getline(rows, header);
  while (std::getline(rows, row)) CHECK(cells(row) == cells(header));
}

TEST_CASE("omp spin count: the shortest loaded step among those within 15 percent of the best quiet step", "[variants]") {
  using mixtrain::app::choose_spincount;
  CHECK(choose_spincount({}).empty());
  // libgomp is fastest alone but collapses under load; 0 is 20 % slower alone: 1000 (5 %) wins.
  CHECK(choose_spincount({{"libgomp", 0.100, 0.800}, {"1000", 0.105, 0.300}, {"0", 0.120, 0.250}}) == "1000");
  // All within 15 %: the loaded step decides.
  CHECK(choose_spincount({{"libgomp", 0.220, 0.712}, {"1000", 0.237, 0.454}, {"0", 0.221, 0.325}}) == "0");
  // A candidate that failed (0 s) is never chosen, nor does it set the best.
  CHECK(choose_spincount({{"libgomp", 0.0, 0.0}, {"1000", 0.2, 0.0}, {"0", 0.3, 0.4}}) == "0");
}
