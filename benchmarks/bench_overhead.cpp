// Two measurements on this machine's CPU, in one process, interleaved so that
// load from other processes hits every variant alike:
//
//   bench_overhead [--iters N] [--size S] [--batch B]
//     The trainer's micro-batch step (to_device + train_micro_batch) for a
//     recipe without policies against a hand-written LibTorch loop doing the
//     same work: same model and initial weights, same uint8 -> float input
//     conversion and Gaussian target rendering, same loss, backward, AdamW
//     step and loss read-back. The last line is one JSON object whose `ratio`
//     is median trainer step / median hand-written step.
//
//   bench_overhead --policy_costs [--iters N] [--size S] [--batch B]
//     Median step time of compact_unet and hrnet_small with no policy,
//     amp<bf16>, channels_last, both, ema, and no policy again (a control),
//     plus the EMA update alone: one JSON line each.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/mixtrain.hpp>
#include <mixtrain/model/hrnet.hpp>

namespace mt = mixtrain;
namespace hana = boost::hana;

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

mt::data::landmark_set landmarks(int count) {
  mt::data::landmark_set set;
  for (int i = 0; i < count; ++i) {
    set.symbols.push_back("L" + std::to_string(i));
    set.titles.push_back("L" + std::to_string(i));
  }
  return set;
}

// A batch as the data pipeline delivers it: uint8 pixels, landmark coordinates.
mt::data::batch random_batch(int size, int side, int num_landmarks) {
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<int> pixel(0, 255);
  std::uniform_real_distribution<float> coord(4.0F, static_cast<float>(side) - 5.0F);
  mt::data::batch b;
  b.size = size;
  b.height = b.width = side;
  b.num_landmarks = num_landmarks;
  b.pixels.resize(static_cast<std::size_t>(size) * side * side);
  for (auto& p : b.pixels) p = static_cast<std::uint8_t>(pixel(rng));
  b.landmarks.resize(static_cast<std::size_t>(size) * num_landmarks * 2);
  for (auto& c : b.landmarks) c = coord(rng);
  b.present.assign(static_cast<std::size_t>(size) * num_landmarks, 1.0F);
  return b;
}

constexpr int num_landmarks = 29;
constexpr mt::data::aariz_config data_config{.image_size = {128, 128}};
using model_spec = mt::model::compact_unet<{.width = 24}>;
using optimizer_spec = mt::optim::adamw<{.lr = 1e-3, .weight_decay = 1e-4}>;
using bare_recipe = mt::recipe<model_spec, mt::data::aariz<data_config>, mt::loss::heatmap_mse, optimizer_spec>;

// The loop a user would write by hand with LibTorch for the same step.
struct hand_written {
  model_spec::module_type model;
  torch::optim::AdamW optimizer;
  mt::loss::heatmap_mse loss;
  double mean, std_dev, sigma;

  hand_written(model_spec::module_type m, const mt::data::aariz_config& c)
      : model(std::move(m)),
        optimizer(model->parameters(), torch::optim::AdamWOptions(1e-3).weight_decay(1e-4)),
        mean(c.mean), std_dev(c.std_dev), sigma(c.heatmap_sigma) {}

  double step(const mt::data::batch& b) {
    const auto dev = torch::Device(torch::kCPU);
    auto input = torch::from_blob(const_cast<std::uint8_t*>(b.pixels.data()), {b.size, 1, b.height, b.width}, torch::kUInt8)
                     .to(dev)
                     .to(torch::kFloat32)
                     .mul_(1.0 / (255.0 * std_dev))
                     .sub_(mean / std_dev);
    const int stride = model_spec::output_stride;
    auto coords = torch::from_blob(const_cast<float*>(b.landmarks.data()), {b.size, b.num_landmarks, 2}, torch::kFloat32).to(dev);
    coords = (coords + 0.5) / stride - 0.5;
    auto target = mt::heatmap::render_gaussian(coords, b.height / stride, b.width / stride, sigma);
    auto weight = torch::from_blob(const_cast<float*>(b.present.data()), {b.size, b.num_landmarks}, torch::kFloat32).to(dev);
    auto value = loss(model->forward(input), target, weight);
    const double v = value.item<double>();
    value.backward();
    optimizer.step();
    optimizer.zero_grad();
    return v;
  }
};

int overhead(int iters, int batch_size) {
  mt::trainer<bare_recipe> t;
  torch::manual_seed(0);
  t.build(landmarks(num_landmarks));
  // Same architecture and initial weights for the hand-written loop.
  auto own = model_spec::build({num_landmarks, 1});
  {
    torch::NoGradGuard no_grad;
    auto source = t.model()->named_parameters(true);
    for (auto& p : own->named_parameters(true)) p.value().copy_(source[p.key()]);
    auto source_buffers = t.model()->named_buffers(true);
    for (auto& b : own->named_buffers(true)) b.value().copy_(source_buffers[b.key()]);
  }
  own->train();
  t.model()->train();
  hand_written hand(own, t.data.config);
  const auto batch = random_batch(batch_size, data_config.image_size.width, num_landmarks);

  auto trainer_step = [&] {
    const auto start = clock_type::now();
    t.train_micro_batch(t.to_device(batch), true);
    return seconds_since(start);
  };
  auto hand_step = [&] {
    const auto start = clock_type::now();
    hand.step(batch);
    return seconds_since(start);
  };
  for (int i = 0; i < 3; ++i) {
    trainer_step();
    hand_step();
  }
  std::vector<double> trainer_s, hand_s;
  for (int i = 0; i < iters; ++i) {
    // Alternate which goes first so neither always follows the other.
    if (i % 2 == 0) {
      trainer_s.push_back(trainer_step());
      hand_s.push_back(hand_step());
    } else {
      hand_s.push_back(hand_step());
      trainer_s.push_back(trainer_step());
    }
  }
  const double trainer_ms = 1e3 * median(trainer_s), hand_ms = 1e3 * median(hand_s);
  const double trainer_min = 1e3 * *std::min_element(trainer_s.begin(), trainer_s.end());
  const double hand_min = 1e3 * *std::min_element(hand_s.begin(), hand_s.end());
  std::cout << nlohmann::json{{"bench", "overhead"},
                              {"model", model_spec::name},
                              {"input", data_config.image_size.width},
                              {"batch", batch_size},
                              {"threads", torch::get_num_threads()},
                              {"iters", iters},
                              {"trainer_ms", trainer_ms},
                              {"hand_ms", hand_ms},
                              {"trainer_min_ms", trainer_min},
                              {"hand_min_ms", hand_min},
                              {"min_ratio", trainer_min / hand_min},
                              {"ratio", trainer_ms / hand_ms}}
                   .dump()
            << std::endl;
  return 0;
}

// --- policy costs ---------------------------------------------------------------

template <class Model, mt::data::aariz_config Data, class... Policies>
using cost_recipe = mt::recipe<Model, mt::data::aariz<Data>, mt::loss::heatmap_mse, optimizer_spec, Policies...>;

template <class Recipe>
struct variant {
  std::string label;
  mt::trainer<Recipe> t;
  std::vector<double> seconds;
  explicit variant(std::string l) : label(std::move(l)) {
    torch::manual_seed(0);
    t.build(landmarks(num_landmarks));
  }
  void step(const mt::data::batch& b, bool record) {
    const auto start = clock_type::now();
    t.train_micro_batch(t.to_device(b), true);
    if (record) seconds.push_back(seconds_since(start));
  }
};

template <class Model, mt::data::aariz_config Data>
void policy_costs(int iters, int batch_size) {
  auto variants = hana::make_tuple(
      std::make_unique<variant<cost_recipe<Model, Data>>>("fp32"),
      std::make_unique<variant<cost_recipe<Model, Data, mt::policy::amp<mt::bf16>>>>("amp_bf16"),
      std::make_unique<variant<cost_recipe<Model, Data, mt::policy::channels_last>>>("channels_last"),
      std::make_unique<variant<cost_recipe<Model, Data, mt::policy::amp<mt::bf16>, mt::policy::channels_last>>>(
          "amp_bf16+channels_last"),
      std::make_unique<variant<cost_recipe<Model, Data, mt::policy::ema<>>>>("ema"),
      // The baseline again, last in each round: the spread between the two
      // fp32 rows is the noise floor of this run.
      std::make_unique<variant<cost_recipe<Model, Data>>>("fp32_control"));
  const auto batch = random_batch(batch_size, Data.image_size.width, num_landmarks);
  hana::for_each(variants, [&](auto& v) {
    v->t.emit(mt::event::on_fit_begin, v->t.ctx());  // EMA syncs its shadow here
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
    ema_variant.emit(mt::event::after_optimizer_step, ema_variant.ctx());
    ema_update_s.push_back(seconds_since(start));
  }
  // Medians and minima: on a shared machine the minimum is the closest to
  // the uncontended cost.
  double baseline = 0, baseline_min = 0;
  hana::for_each(variants, [&](auto& v) {
    const double ms = 1e3 * median(v->seconds);
    const double min_ms = 1e3 * *std::min_element(v->seconds.begin(), v->seconds.end());
    if (baseline == 0) {
      baseline = ms;
      baseline_min = min_ms;
    }
    std::cout << nlohmann::json{{"bench", "policy_cost"},
                                {"model", Model::name},
                                {"input", Data.image_size.width},
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
  std::cout << nlohmann::json{{"bench", "policy_cost"}, {"model", Model::name}, {"input", Data.image_size.width},
                              {"variant", "ema_update_only"}, {"median_ms", 1e3 * median(ema_update_s)},
                              {"vs_fp32", 1e3 * median(ema_update_s) / baseline}}
                   .dump()
            << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"trainer overhead and policy costs on this machine"};
  bool costs = false;
  int iters = 0, batch = 4, threads = 0;
  std::string model = "both";
  cli.add_flag("--policy_costs", costs, "measure amp<bf16>, channels_last and ema instead of the overhead");
  cli.add_option("--iters", iters, "timed steps per variant (default 100, or 8 with --policy_costs)");
  cli.add_option("--batch", batch, "images per step");
  cli.add_option("--threads", threads, "LibTorch threads (0 = all cores)");
  cli.add_option("--model", model, "with --policy_costs: compact_unet, hrnet_small or both")
      ->check(CLI::IsMember({"compact_unet", "hrnet_small", "both"}));
  CLI11_PARSE(cli, argc, argv);
  torch::set_num_threads(threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  if (!costs) return overhead(iters > 0 ? iters : 100, batch);
  constexpr mt::data::aariz_config at256{.image_size = {256, 256}};
  if (model != "hrnet_small") policy_costs<mt::model::compact_unet<{.width = 24}>, at256>(iters > 0 ? iters : 8, batch);
  if (model != "compact_unet") policy_costs<mt::model::hrnet<mt::model::hrnet_small>, at256>(iters > 0 ? iters : 8, batch);
  return 0;
}
