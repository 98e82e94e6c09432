// The trainer's cost per step, against LibTorch written by hand, on this
// machine's CPU. Everything runs in one process and is interleaved, so load
// from other processes hits every side alike.
//
//   bench_overhead [--model tiny_net|compact_unet|both] [--iters N] [--runs R]
//                  [--size S] [--batch B] [--threads T]
//     Two comparisons, each trainer against a hand-written loop doing the
//     same work (same model and initial weights, same uint8 -> float input
//     conversion and Gaussian targets, same presence-weighted loss, backward
//     and AdamW step, no per-step read-back on either side; the epoch's loss
//     is summed on the device on both sides):
//       empty: a recipe without policies; one step = one micro-batch.
//       full:  the policy list of recipes/aariz_full.cpp (amp<bf16> compiled
//              in but off, channels_last, ema, accumulate<2>, grad_clip,
//              warmup_cosine, early_stopping, checkpoint); one step = one
//              optimizer update = 2 micro-batches. The hand loop converts
//              weights and input to channels-last, accumulates 2 micro-batches
//              and divides the gradient by the window's present count, clips
//              the total norm without a read-back, steps, updates an EMA copy
//              (ModelEmaV3 warmup decay) and sets the warmup-cosine rate.
//              Early stopping and checkpoints act at epoch end only.
//     Steps are small so that per-step costs would show: a 3-layer net
//     (tiny_net) and compact_unet at width 4, 32x32 input, batch 2, one
//     LibTorch thread (defaults).
//     Each of R blocks runs N rounds; a round times one step of each side of
//     each model (of tiny_net 4, its steps being ~4x shorter), the order of
//     trainer and hand alternating from one to the next. Per block and
//     model, one JSON line: median step times (wall clock and thread CPU
//     time), their trainer/hand ratios, the ratio of the minima, and the
//     median of the per-round ratios (trainer and hand back to back share
//     the load of the moment). After the blocks, both sides' weights, EMA
//     shadows and learning rates are compared: the same work in the same
//     order gives bit-identical numbers (exit status 1 otherwise).
//     The last line is one JSON object: empty_ratio and full_ratio (wall
//     clock, median over blocks; of the two models the larger), their
//     spreads [min, max] over blocks, and per model all of the above.
//
//   bench_overhead --policy_costs [--iters N] [--size S] [--batch B] [--model M]
//     Median step time of compact_unet and hrnet_small with no policy,
//     amp<bf16>, channels_last, both, ema, and no policy again (a control),
//     plus the EMA update alone: one JSON line each.
//
// Layout: overhead/setup.hpp (scratch space, host batches, tiny_net, the two
// recipes), overhead/timing.hpp (clocks, medians), overhead/trainer_side.hpp,
// overhead/hand_loops.hpp (the hand-written LibTorch loops),
// overhead/comparison.hpp (interleaved rounds, JSON lines, weights check);
// this file: the policy costs and the command line.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/hana.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/trainer.hpp>
#include <mixtrain/data/aariz.hpp>
#include <mixtrain/model/compact_unet.hpp>
#include <mixtrain/model/hrnet.hpp>
#include <mixtrain/optim/adamw.hpp>
#include <mixtrain/policy/amp.hpp>
#include <mixtrain/policy/channels_last.hpp>
#include <mixtrain/policy/ema.hpp>
#include <mixtrain/task/landmark_heatmaps.hpp>

#include "overhead/comparison.hpp"
#include "overhead/setup.hpp"
#include "overhead/timing.hpp"

namespace bench_overhead {

// --- policy costs ---------------------------------------------------------------

using cost_optimizer = mt::optim::adamw<{.lr = 1e-3, .weight_decay = 1e-4}>;
// Channels-last as a cost, not a choice: never left to the start-up measurement.
using forced_channels_last = mt::policy::channels_last_layout<{.measure_on_cpu = false}>;
template <class Model, class... Policies>
using cost_recipe =
    mt::recipe<Model, mt::data::aariz<{.image_size = {256, 256}}>, mt::task::landmark_heatmaps<>, cost_optimizer, Policies...>;

template <class Recipe>
struct variant {
  std::string label;
  mt::trainer<Recipe> t;
  std::vector<double> seconds;
  variant(std::string l, const std::filesystem::path& dir) : label(std::move(l)) {
    t.run.output_dir = dir / label;
    std::filesystem::create_directories(t.run.output_dir);
    torch::manual_seed(0);
    t.build(landmarks(num_landmarks));
    t.ctx().log = &null_stream;
    t.emit(mt::hook::on_fit_begin{}, t.ctx());  // EMA syncs its shadow here
    t.model()->train();
  }
  void step(const mt::data::batch& b, bool record) {
    const auto start = clock_type::now();
    t.train_micro_batch(t.to_device(b), true);
    if (record) seconds.push_back(seconds_since(start));
  }
};

template <class Model>
void policy_costs(int iters, int side, int batch_size) {
  scratch_dir scratch;
  const auto& dir = scratch.path;
  auto variants = hana::make_tuple(
      std::make_unique<variant<cost_recipe<Model>>>("fp32", dir),
      std::make_unique<variant<cost_recipe<Model, mt::policy::amp<mt::bf16>>>>("amp_bf16", dir),
      std::make_unique<variant<cost_recipe<Model, forced_channels_last>>>("channels_last", dir),
      std::make_unique<variant<cost_recipe<Model, mt::policy::amp<mt::bf16>, forced_channels_last>>>(
          "amp_bf16+channels_last", dir),
      std::make_unique<variant<cost_recipe<Model, mt::policy::ema<>>>>("ema", dir),
      // The baseline again, last in each round: the spread between the two
      // fp32 rows is the noise floor of this run.
      std::make_unique<variant<cost_recipe<Model>>>("fp32_control", dir));
  const auto batch = random_batch(batch_size, side, num_landmarks, 1);
  hana::for_each(variants, [&](auto& v) {
    v->step(batch, false);
    v->step(batch, false);
  });
  // Round-robin: every variant sees the same background load.
  for (int i = 0; i < iters; ++i) hana::for_each(variants, [&](auto& v) { v->step(batch, true); });
  // The EMA update alone (after_optimizer_step), which the step times blur.
  std::vector<double> ema_update_s;
  auto& ema_variant = hana::at_c<4>(variants)->t;
  for (int i = 0; i < 20; ++i) {
    const auto start = clock_type::now();
    ema_variant.emit(mt::hook::after_optimizer_step{}, ema_variant.ctx());
    ema_update_s.push_back(seconds_since(start));
  }
  // Medians and minima: on a shared machine the minimum is the closest to
  // the uncontended cost.
  double baseline = 0, baseline_min = 0;
  hana::for_each(variants, [&](auto& v) {
    const double ms = 1e3 * median(v->seconds);
    const double min_ms = 1e3 * minimum(v->seconds);
    if (baseline == 0) {
      baseline = ms;
      baseline_min = min_ms;
    }
    std::cout << nlohmann::json{{"bench", "policy_cost"},
                                {"model", Model::name},
                                {"input", side},
                                {"batch", batch_size},
                                {"threads", torch::get_num_threads()},
                                {"iters", iters},
                                {"variant", v->label},
                                {"median_ms", ms},
                                {"min_ms", min_ms},
                                {"vs_fp32", ms / baseline},
                                {"min_vs_fp32", min_ms / baseline_min}}
                     .dump()
              << std::endl;
  });
  std::cout << nlohmann::json{{"bench", "policy_cost"}, {"model", Model::name}, {"input", side},
                              {"variant", "ema_update_only"}, {"median_ms", 1e3 * median(ema_update_s)},
                              {"vs_fp32", 1e3 * median(ema_update_s) / baseline}}
                   .dump()
            << std::endl;
}

}  // namespace bench_overhead

int main(int argc, char** argv) {
  CLI::App cli{"trainer overhead against hand-written LibTorch, and policy costs, on this machine"};
  bool costs = false;
  int iters = 0, runs = 3, batch = 0, size = 0, threads = -1;
  std::string model = "both";
  cli.add_flag("--policy_costs", costs, "measure amp<bf16>, channels_last and ema instead of the overhead");
  cli.add_option("--iters", iters, "timed rounds per block (default 300, or 8 with --policy_costs)");
  cli.add_option("--runs", runs, "blocks of rounds; the ratios are their median (default 3)")->check(CLI::PositiveNumber);
  cli.add_option("--size", size, "input side, a multiple of 32 (default 32, or 256 with --policy_costs)");
  cli.add_option("--batch", batch, "images per micro-batch (default 2, or 4 with --policy_costs)");
  cli.add_option("--threads", threads, "LibTorch intra-op threads (0 = all cores; default 1, all with --policy_costs)");
  cli.add_option("--model", model,
                 "overhead: tiny_net, compact_unet or both (default); --policy_costs: compact_unet, hrnet_small or both")
      ->check(CLI::IsMember({"tiny_net", "compact_unet", "hrnet_small", "both"}));
  CLI11_PARSE(cli, argc, argv);
  if (threads < 0) threads = costs ? 0 : 1;
  torch::set_num_threads(threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  if (batch <= 0) batch = costs ? 4 : 2;
  if (size <= 0) size = costs ? 256 : 32;
  if (size % 32 != 0) {
    std::cerr << "--size must be a multiple of 32\n";
    return 2;
  }
  if (!costs) {
    if (model == "hrnet_small") {
      std::cerr << "--model hrnet_small is for --policy_costs\n";
      return 2;
    }
    return bench_overhead::overhead(iters > 0 ? iters : 300, runs, size, batch, model);
  }
  if (model == "tiny_net") {
    std::cerr << "--model tiny_net is for the overhead comparison\n";
    return 2;
  }
  namespace model_ns = mixtrain::model;
  const int cost_iters = iters > 0 ? iters : 8;
  if (model != "hrnet_small") bench_overhead::policy_costs<model_ns::compact_unet<{.width = 24}>>(cost_iters, size, batch);
  if (model != "compact_unet") bench_overhead::policy_costs<model_ns::hrnet<model_ns::hrnet_small>>(cost_iters, size, batch);
  return 0;
}