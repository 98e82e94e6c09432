// bench_overhead's comparison: both sides of both recipes of one model,
// interleaved round by round, per-block JSON lines, the weights check and
// the summary line.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/hana.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "hand_loops.hpp"
#include "setup.hpp"
#include "timing.hpp"
#include "trainer_side.hpp"

namespace bench_overhead {

// Largest absolute difference between two modules' parameters and buffers.
template <class Module>
double max_difference(Module& a, Module& b) {
  torch::NoGradGuard no_grad;
  double worst = 0;
  auto pa = a->parameters(), pb = b->parameters();
  for (std::size_t i = 0; i < pa.size(); ++i)
    worst = std::max(worst, (pa[i] - pb[i]).abs().max().template item<double>());
  auto ba = a->buffers(), bb = b->buffers();
  for (std::size_t i = 0; i < ba.size(); ++i)
    worst = std::max(worst, (ba[i].to(torch::kDouble) - bb[i].to(torch::kDouble)).abs().max().template item<double>());
  return worst;
}

// One model's four sides: empty trainer, plain hand loop, full trainer, full
// hand loop, each with its own two alternating host batches.
template <class Model>
struct overhead_case {
  std::string label;
  int repeats = 1;  // rounds per round of the slowest model: more samples where steps are short
  mt::trainer<empty_recipe<Model>> empty_trainer;
  mt::trainer<full_recipe<Model>> full_trainer;
  std::optional<hand_plain<Model>> plain;
  std::optional<hand_full<Model>> full;
  std::int64_t empty_window = 1, full_window = 1;
  std::vector<mt::data::batch> batches;
  std::size_t next[4] = {0, 0, 0, 0};
  side_times times[4];  // this block's: empty trainer, empty hand, full trainer, full hand

  overhead_case(std::string l, int r, const std::filesystem::path& dir, int side, int batch_size)
      : label(std::move(l)), repeats(r) {
    start_fit(empty_trainer, dir / label / "empty");
    start_fit(full_trainer, dir / label / "full");
    plain.emplace(copy_of<Model>(empty_trainer.model()));
    full.emplace(copy_of<Model>(full_trainer.model()));
    empty_window = empty_trainer.accumulation_steps();
    full_window = full_trainer.accumulation_steps();
    // Two batches alternate, as a data stream would deliver different ones.
    batches = {random_batch(batch_size, side, num_landmarks, 1), random_batch(batch_size, side, num_landmarks, 2)};
  }

  const mt::data::batch& pick(int s) { return batches[next[s]++ % batches.size()]; }

  // One step of side s: a micro-batch (empty) or an optimizer update of
  // full_accumulation micro-batches (full).
  void step(int s) {
    switch (s) {
      case 0: trainer_micro_batch(empty_trainer, empty_window, pick(0)); break;
      case 1: plain->step(pick(1)); break;
      case 2:
        for (int m = 0; m < full_accumulation; ++m) trainer_micro_batch(full_trainer, full_window, pick(2));
        break;
      default:
        for (int m = 0; m < full_accumulation; ++m) full->micro_batch(pick(3));
    }
  }
  void timed_step(int s) {
    timed(times[s], [&] { step(s); });
  }

  // Rounds alternate which side of a comparison goes first, and so does the
  // first round after the other model's (its first step runs with caches
  // the other model has just used: the penalty must fall on both sides alike).
  void round() {
    for (int k = 0; k < repeats; ++k) {
      if ((calls_ + k) % 2 == 0) {
        for (int s : {0, 1, 3, 2}) timed_step(s);
      } else {
        for (int s : {1, 0, 2, 3}) timed_step(s);
      }
    }
    ++calls_;
  }
  std::int64_t calls_ = 0;

  [[nodiscard]] nlohmann::json block_json() const {
    auto ratio = [&](int trainer, int hand) { return times[trainer].wall_ms() / times[hand].wall_ms(); };
    auto cpu_ratio = [&](int trainer, int hand) { return times[trainer].cpu_ms() / times[hand].cpu_ms(); };
    auto min_ratio = [&](int trainer, int hand) { return times[trainer].min_ms() / times[hand].min_ms(); };
    // Trainer over hand within each round (the two steps run back to back, so
    // they share the machine's load of the moment), then the median.
    auto paired_ratio = [&](int trainer, int hand) {
      std::vector<double> r;
      for (std::size_t i = 0; i < times[trainer].wall.size(); ++i) r.push_back(times[trainer].wall[i] / times[hand].wall[i]);
      return median(r);
    };
    return {{"model", label},
            {"empty_trainer_ms", times[0].wall_ms()}, {"empty_hand_ms", times[1].wall_ms()},
            {"empty_ratio", ratio(0, 1)},
            {"empty_trainer_cpu_ms", times[0].cpu_ms()}, {"empty_hand_cpu_ms", times[1].cpu_ms()},
            {"empty_cpu_ratio", cpu_ratio(0, 1)}, {"empty_min_ratio", min_ratio(0, 1)},
            {"empty_paired_ratio", paired_ratio(0, 1)},
            {"full_trainer_ms", times[2].wall_ms()}, {"full_hand_ms", times[3].wall_ms()},
            {"full_ratio", ratio(2, 3)},
            {"full_trainer_cpu_ms", times[2].cpu_ms()}, {"full_hand_cpu_ms", times[3].cpu_ms()},
            {"full_cpu_ratio", cpu_ratio(2, 3)}, {"full_min_ratio", min_ratio(2, 3)},
            {"full_paired_ratio", paired_ratio(2, 3)}};
  }
  void clear() {
    for (auto& t : times) t = side_times{};
  }

  // Same work in the same order: the same weights, EMA shadows and rate.
  [[nodiscard]] nlohmann::json agreement() {
    const auto& shadow = hana::at_c<ema_index>(full_trainer.policies).shadow();
    using module_type = module_of<Model>;
    return {{"empty_weights_max_diff", max_difference(empty_trainer.model(), plain->model)},
            {"full_weights_max_diff", max_difference(full_trainer.model(), full->model)},
            {"full_ema_max_diff", shadow ? max_difference(const_cast<module_type&>(*shadow), full->shadow) : -1.0},
            {"full_lr", {full_trainer.optimizer().param_groups().front().options().get_lr(),
                         full->optimizer->param_groups().front().options().get_lr()}},
            {"full_updates", {full_trainer.ctx().global_step, full->global_step}}};
  }
  void finish() {
    end_fit(empty_trainer);
    end_fit(full_trainer);
  }
};

inline int overhead(int iters, int runs, int side, int batch_size, const std::string& which) {
  scratch_dir scratch;
  // The trainers hold references into themselves: built in place.
  std::unique_ptr<overhead_case<tiny_net_spec>> tiny;
  std::unique_ptr<overhead_case<small_unet_spec>> unet;
  // tiny_net's steps are about 4x shorter: 4 of its rounds per round.
  if (which != "compact_unet")
    tiny = std::make_unique<overhead_case<tiny_net_spec>>("tiny_net", which == "both" ? 4 : 1, scratch.path, side, batch_size);
  if (which != "tiny_net")
    unet = std::make_unique<overhead_case<small_unet_spec>>("compact_unet_w4", 1, scratch.path, side, batch_size);
  auto for_cases = [&](auto&& f) {
    if (tiny) f(*tiny);
    if (unet) f(*unet);
  };

  // Warm-up: allocator pools, oneDNN primitives, optimizer state.
  for (int i = 0; i < 10; ++i) for_cases([&](auto& c) { c.round(); });
  for_cases([](auto& c) { c.clear(); });

  const double load_before = load_average();
  nlohmann::json blocks = nlohmann::json::array();
  for (int r = 0; r < runs; ++r) {
    for (int i = 0; i < iters; ++i) for_cases([&](auto& c) { c.round(); });
    const double load = load_average();
    for_cases([&](auto& c) {
      auto line = c.block_json();
      line["bench"] = "overhead_block";
      line["block"] = r;
      line["load_1min"] = load;
      std::cout << line.dump() << std::endl;
      blocks.push_back(line);
      c.clear();
    });
  }

  bool same_weights = true;
  nlohmann::json agreement = nlohmann::json::object();
  for_cases([&](auto& c) {
    const nlohmann::json a = c.agreement();
    same_weights = same_weights && a.at("empty_weights_max_diff").get<double>() == 0.0 &&
                   a.at("full_weights_max_diff").get<double>() == 0.0 && a.at("full_ema_max_diff").get<double>() == 0.0;
    agreement[c.label] = a;
    c.finish();
  });
  std::cout << nlohmann::json{{"bench", "overhead_agreement"}, {"agreement", agreement}}.dump() << std::endl;

  // Per model: the median over blocks and the spread; the headline ratio of
  // each comparison is the larger of the models' medians.
  nlohmann::json models = nlohmann::json::object();
  double empty_headline = 0, full_headline = 0;
  std::vector<double> empty_headline_spread, full_headline_spread;
  for_cases([&](auto& c) {
    std::vector<double> e, f, ec, fc, ep, fp;
    for (const auto& b : blocks) {
      if (b.at("model") != c.label) continue;
      e.push_back(b.at("empty_ratio"));
      f.push_back(b.at("full_ratio"));
      ec.push_back(b.at("empty_cpu_ratio"));
      fc.push_back(b.at("full_cpu_ratio"));
      ep.push_back(b.at("empty_paired_ratio"));
      fp.push_back(b.at("full_paired_ratio"));
    }
    models[c.label] = {{"empty_ratio", median(e)}, {"empty_spread", spread(e)},
                       {"full_ratio", median(f)}, {"full_spread", spread(f)},
                       {"empty_cpu_ratio", median(ec)}, {"empty_cpu_spread", spread(ec)},
                       {"full_cpu_ratio", median(fc)}, {"full_cpu_spread", spread(fc)},
                       {"empty_paired_ratio", median(ep)}, {"empty_paired_spread", spread(ep)},
                       {"full_paired_ratio", median(fp)}, {"full_paired_spread", spread(fp)}};
    if (median(e) > empty_headline) {
      empty_headline = median(e);
      empty_headline_spread = spread(e);
    }
    if (median(f) > full_headline) {
      full_headline = median(f);
      full_headline_spread = spread(f);
    }
  });
  std::cout << nlohmann::json{{"bench", "overhead"},
                              {"empty_ratio", empty_headline},
                              {"full_ratio", full_headline},
                              {"empty_spread", empty_headline_spread},
                              {"full_spread", full_headline_spread},
                              {"models", models},
                              {"same_weights", same_weights},
                              {"input", side},
                              {"batch", batch_size},
                              {"full_micro_batches_per_step", full_accumulation},
                              {"threads", torch::get_num_threads()},
                              {"iters", iters},
                              {"runs", runs},
                              {"load_1min", {load_before, load_average()}}}
                   .dump()
            << std::endl;
  return same_weights ? 0 : 1;
}
}  // namespace bench_overhead
