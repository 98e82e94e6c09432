// bench_overhead, the hand-written side: the same work in plain LibTorch, once
// without policies (hand_plain) and once with aariz_full's policy list
// written out (hand_full).
#pragma once

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <iostream>
#include <memory>
#include <numbers>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <mixtrain/heatmap/render.hpp>

#include "setup.hpp"

namespace bench_overhead {

template <class Model>
using module_of = decltype(Model::build(mt::model::build_options{}));

// A model of the same architecture with the trainer's initial weights.
template <class Model>
module_of<Model> copy_of(module_of<Model>& source) {
  auto own = Model::build({num_landmarks, 1});
  torch::NoGradGuard no_grad;
  auto parameters = source->named_parameters(true);
  for (auto& p : own->named_parameters(true)) p.value().copy_(parameters[p.key()]);
  auto buffers = source->named_buffers(true);
  for (auto& b : own->named_buffers(true)) b.value().copy_(buffers[b.key()]);
  own->train();
  return own;
}

struct device_batch {
  torch::Tensor input, target, weight;
};

// The same conversion as landmark_heatmaps: targets rendered at heatmap
// resolution, uint8 -> normalised float input.
inline device_batch to_device(const mt::data::batch& b, int stride, torch::Device dev) {
  auto coords = torch::from_blob(const_cast<float*>(b.landmarks.data()), {b.size, b.num_landmarks, 2}, torch::kFloat32)
                    .to(dev);
  coords = (coords + 0.5) / static_cast<double>(stride) - 0.5;
  auto target = mt::heatmap::render_gaussian(coords, b.height / stride, b.width / stride, sigma);
  auto weight = torch::from_blob(const_cast<float*>(b.present.data()), {b.size, b.num_landmarks}, torch::kFloat32).to(dev);
  auto input = torch::from_blob(const_cast<std::uint8_t*>(b.pixels.data()), {b.size, 1, b.height, b.width}, torch::kUInt8)
                   .to(dev)
                   .to(torch::kFloat32)
                   .mul_(1.0 / (255.0 * norm_std))
                   .sub_(norm_mean / norm_std);
  return {input, target, weight};
}

// Presence-weighted heatmap MSE: the weighted sum and the present count.
inline std::pair<torch::Tensor, torch::Tensor> weighted_loss(const torch::Tensor& output, const device_batch& b) {
  const auto per = (output.to(torch::kFloat32) - b.target).square().mean({2, 3});
  const auto w = b.weight.to(per.dtype());
  return {(per * w).sum(), w.sum()};
}

// The plain loop: forward, loss, backward, AdamW step; the epoch's loss summed
// on the device for the one read-back a log line at epoch end needs.
template <class Model>
struct hand_plain {
  module_of<Model> model;
  torch::optim::AdamW optimizer;
  torch::Tensor epoch_loss = torch::zeros({});

  explicit hand_plain(module_of<Model> m)
      : model(std::move(m)),
        optimizer(model->parameters(), torch::optim::AdamWOptions(empty_adamw.lr).weight_decay(empty_adamw.weight_decay)) {
    optimizer.zero_grad();
  }

  void step(const mt::data::batch& host) {
    const auto b = to_device(host, Model::output_stride, torch::kCPU);
    const auto [sum, count] = weighted_loss(model->forward(b.input), b);
    const auto loss = sum / count.clamp_min(1.0);
    loss.backward();
    epoch_loss += loss.detach();
    optimizer.step();
    optimizer.zero_grad();
  }
};

inline volatile std::sig_atomic_t stop_signal = 0;  // a hand loop's SIGINT flag, polled after each update

// The full policy list written out by hand.
template <class Model>
struct hand_full {
  module_of<Model> model;
  module_of<Model> shadow;  // EMA weights
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::vector<torch::Tensor> parameters;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> ema_pairs;  // (shadow, model)
  double base_lr = full_adamw.lr;
  std::int64_t micro_batches = 0, global_step = 0;
  const std::int64_t updates_per_epoch = batches_per_epoch / full_accumulation;
  torch::Tensor window_count;
  torch::Tensor epoch_loss = torch::zeros({});

  explicit hand_full(module_of<Model> m) : model(std::move(m)), shadow(Model::build({num_landmarks, 1})) {
    torch::NoGradGuard no_grad;
    // Channels-last weights, before the optimizer sees them.
    for (auto& p : model->parameters())
      if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
    for (auto& b : model->buffers())
      if (b.dim() == 4) b.set_data(b.contiguous(torch::MemoryFormat::ChannelsLast));
    parameters = model->parameters();
    optimizer = std::make_unique<torch::optim::AdamW>(
        parameters, torch::optim::AdamWOptions(full_adamw.lr).weight_decay(full_adamw.weight_decay));
    // The EMA copy: same layout, no gradients, eval mode, starting at the model.
    auto shadow_parameters = shadow->parameters(), shadow_buffers = shadow->buffers();
    auto buffers = model->buffers();
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      shadow_parameters[i].set_data(parameters[i].detach().clone());
      shadow_parameters[i].set_requires_grad(false);
      ema_pairs.emplace_back(shadow_parameters[i], parameters[i]);
    }
    for (std::size_t i = 0; i < buffers.size(); ++i) {
      shadow_buffers[i].set_data(buffers[i].detach().clone());
      ema_pairs.emplace_back(shadow_buffers[i], buffers[i]);
    }
    shadow->eval();
    set_learning_rate();  // the rate of the first update
    optimizer->zero_grad();
  }

  void micro_batch(const mt::data::batch& host) {
    auto b = to_device(host, Model::output_stride, torch::kCPU);
    b.input = b.input.contiguous(torch::MemoryFormat::ChannelsLast);
    const auto [sum, count] = weighted_loss(model->forward(b.input), b);
    const auto loss = sum / count.clamp_min(1.0);
    window_count = window_count.defined() ? window_count + count : count;
    sum.backward();  // normalised by the window's present count below
    epoch_loss += loss.detach();
    if (++micro_batches % full_accumulation != 0) return;
    torch::NoGradGuard no_grad;
    const auto present = window_count.clamp_min(1.0);
    window_count = torch::Tensor();
    for (auto& p : parameters)
      if (p.mutable_grad().defined()) p.mutable_grad().div_(present);
    clip_gradients();
    optimizer->step();
    ++global_step;
    update_ema();
    set_learning_rate();
    if (stop_signal != 0) std::cerr << "stop requested\n";
    optimizer->zero_grad();
  }

  // clip_grad_norm_(max_norm 1, L2), the factor kept on the device.
  void clip_gradients() {
    std::vector<torch::Tensor> norms;
    for (const auto& p : parameters)
      if (p.grad().defined()) norms.push_back(p.grad().norm(full_clip.norm_type));
    const auto total = torch::stack(norms).norm(full_clip.norm_type);
    const auto factor = (full_clip.max_norm / (total + 1e-6)).clamp_max(1.0);
    for (const auto& p : parameters)
      if (p.grad().defined()) p.grad().mul_(factor);
  }

  // timm ModelEmaV3 with warmup: decay 0 at the first update, then
  // 1 - (1 + t)^(-2/3) up to the ceiling.
  void update_ema() {
    const auto t = global_step - 1;
    double decay = 0.0;
    if (t > 0)
      decay = std::clamp(1.0 - std::pow(1.0 + static_cast<double>(t) / full_ema.warmup_gamma, -full_ema.warmup_power),
                         full_ema.min_decay, full_ema.decay);
    for (auto& [mine, theirs] : ema_pairs) {
      if (mine.is_floating_point()) mine.lerp_(theirs, 1.0 - decay);
      else mine.copy_(theirs);
    }
  }

  // Linear warmup over 2 epochs, then cosine to min_lr.
  void set_learning_rate() {
    const auto warmup = std::llround(full_schedule.warmup_epochs * static_cast<double>(updates_per_epoch)) +
                        full_schedule.warmup_steps;
    const auto total = epochs * updates_per_epoch;
    double lr;
    if (global_step < warmup) {
      lr = base_lr * static_cast<double>(global_step + 1) / static_cast<double>(warmup);
    } else {
      const double progress = std::min(1.0, static_cast<double>(global_step - warmup) / static_cast<double>(total - warmup));
      lr = full_schedule.min_lr + (base_lr - full_schedule.min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
    }
    for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);
  }
};

}  // namespace bench_overhead
