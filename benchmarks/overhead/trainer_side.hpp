// bench_overhead, the trainer side: fit()'s start and end and the body of
// train_epoch's loop, driven one micro-batch at a time.
#pragma once

#include <cstdint>
#include <filesystem>

#include <mixtrain/core/trainer.hpp>

#include "setup.hpp"

namespace bench_overhead {

// What fit() does before its first micro-batch, without a data set.
template <class Recipe>
void start_fit(mt::trainer<Recipe>& t, const std::filesystem::path& output_dir) {
  std::filesystem::create_directories(output_dir);
  t.run.output_dir = output_dir;
  t.run.fit.epochs = static_cast<int>(epochs);
  torch::manual_seed(0);
  t.build(landmarks(num_landmarks));
  auto& c = t.ctx();
  c.log = &null_stream;
  c.output_dir = output_dir;
  c.batches_per_epoch = batches_per_epoch;
  const auto window = t.accumulation_steps();
  c.updates_per_epoch = (c.batches_per_epoch + window - 1) / window;
  c.epochs = epochs;
  t.emit(mt::hook::on_fit_begin{}, c);
  t.model()->train();
  t.optimizer().zero_grad();
  t.emit(mt::hook::on_epoch_begin{}, c);
}

// The body of trainer::train_epoch's loop, for one host batch.
template <class Recipe>
void trainer_micro_batch(mt::trainer<Recipe>& t, std::int64_t window, const mt::data::batch& host) {
  auto& c = t.ctx();
  const auto position = mt::trainer<Recipe>::window_at(c.batch_in_epoch, c.batches_per_epoch, window);
  c.window_length = position.length;
  t.train_micro_batch(t.to_device(host), position.ends);
  // An epoch boundary: its events (validation, logging, checkpoints) are
  // epoch costs, not step costs, and are left out on both sides.
  if (++c.batch_in_epoch == c.batches_per_epoch) {
    c.batch_in_epoch = 0;
    ++c.epoch;
  }
}

template <class Recipe>
void end_fit(mt::trainer<Recipe>& t) {
  t.emit(mt::hook::on_fit_end{}, t.ctx());  // the checkpoint policy restores signal handlers
}
}  // namespace bench_overhead
