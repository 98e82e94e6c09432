#pragma once
// The longer members of mixtrain::trainer (core/trainer.hpp), defined out of
// the class so that the class reads as its interface: the fit loop, one
// epoch, the end of an accumulation window, the ranks' agreement and the
// signal checks. Included at the end of trainer.hpp; including it alone
// gives the whole trainer.
#include <mixtrain/core/trainer.hpp>

namespace mixtrain {

template <class Recipe>
auto trainer<Recipe>::fit(const sample_set& train, const sample_set& valid) -> fit_result {
  auto& c = *ctx_;
  check_output_folder();
  c.output_dir = run.output_dir;
  identity_ = run_identity(train);
  if (resumed_from_) detail::require_same_run(resumed_from_->path, resumed_from_->identity, identity_);
  guard_ = nonfinite_guard(run.fit.max_nonfinite_steps);
  guard_.protect((*model_)->buffers());
  if constexpr (requires { task.prepare(train); }) task.prepare(train);  // e.g. a baseline from the training set
  auto pipeline = data.make_pipeline(train, settings(true));
  run.fit.num_workers = pipeline->num_workers();
  c.batches_per_epoch = pipeline->batches_per_epoch();
  const auto window = accumulation_steps();
  c.updates_per_epoch = (c.batches_per_epoch + window - 1) / window;
  c.epochs = run.fit.epochs;
  const bool resuming = c.epoch > 0 || c.batch_in_epoch > 0;
  if (!run.init_from.empty()) {
    if (resuming || c.global_step > 0)
      throw std::runtime_error("--init_from starts a new run from weights; it cannot be combined with --resume");
    const auto report = load_weights(run.init_from, run.init_strict);
    *c.log << "initialised from " << run.init_from.string() << ": " << report.describe() << "\n";
  }
  const stop_signals signals;  // SIGINT/SIGTERM noted until fit returns
  signal_noted_ = false;
  c.fit_started = clock::now();
  c.fit_first_step = c.global_step + 1;
  emit(hook::on_fit_begin{}, c);
  (*model_)->train();
  optimizer_->zero_grad();
  fit_result result;
  for (; c.epoch < run.fit.epochs && !c.stop_requested; ++c.epoch) {
    if (!train_epoch(*pipeline, window, samples_in(train))) {
      // Stopped at a window boundary mid-epoch; the counters point at the
      // next micro-batch, so a checkpoint written now resumes exactly there.
      write_recovery();
      emit(hook::on_interrupt{}, c);
      break;
    }
    c.batch_in_epoch = 0;
    result.validation.emplace(evaluate(valid));
    c.metrics = result.validation->metrics;
    c.validated = true;
    emit(hook::on_validation_end{}, c);
    c.statistics.learning_rate = optimizer_->param_groups().front().options().get_lr();
    c.statistics.epoch_seconds = seconds_since(epoch_started_);
    ++result.epochs_run;
    // The epoch is done: counters point at the next one, so a checkpoint
    // written now resumes there.
    ++c.epoch;
    emit(hook::on_epoch_end{}, c);
    save_checkpoint(run.output_dir / "last.pt");
    if constexpr (synchronised) agree({});  // stop requests too: every rank leaves after the same epoch
    else poll_signals();  // one that came during validation stops here, at the epoch's end
    if (signal_noted_) write_recovery();
    --c.epoch;
  }
  emit(hook::on_fit_end{}, c);
  pipeline->stop();
  result.interrupted_by_signal = signal_noted_;
  result.nonfinite_stop = guard_.exhausted();
  return result;
}

template <class Recipe>
template <class Pipeline>
bool trainer<Recipe>::train_epoch(Pipeline& pipeline, std::int64_t window, std::int64_t samples) {
  auto& c = *ctx_;
  epoch_started_ = clock::now();
  const double wait_before = pipeline.wait_seconds();
  pipeline.start_epoch(static_cast<std::uint64_t>(c.epoch), c.batch_in_epoch);
  emit(hook::on_epoch_begin{}, c);
  epoch_loss_.start(device(), c.batch_in_epoch > 0);  // resumed mid-epoch: go on with its sums
  auto progress = batch_progress::start(pipeline, c.batch_in_epoch, samples, run.fit.batch_size);
  std::int64_t micro_batches = 0;
  while (auto b = pipeline.next()) {
    const auto position = window_at(c.batch_in_epoch, c.batches_per_epoch, window);
    c.window_length = position.length;
    auto batch = task.to_device(*b, device());
    const auto size = batch.input.size(0);
    train_micro_batch(std::move(batch), position.ends);
    ++micro_batches;
    ++c.batch_in_epoch;
    progress.add(size);
    emit(hook::on_train_batch{}, c, progress);
    if (c.stop_requested && position.ends) break;
  }
  auto& s = c.statistics;
  s.images = progress.images;
  s.train_seconds = seconds_since(epoch_started_);
  s.wait_seconds = pipeline.wait_seconds() - wait_before;
  s.train_loss = micro_batches > 0 ? epoch_loss_.mean() : 0.0;  // the epoch's one read-back of losses
  return c.batch_in_epoch >= c.batches_per_epoch;
}

template <class Recipe>
template <class DeviceBatch>
step_outcome trainer<Recipe>::run_step(DeviceBatch& batch) {
  auto loop_step = [this](DeviceBatch& b) {
    auto& c = *ctx_;
    loss_terms terms;
    {
      auto scopes = forward_scopes();
      const auto output = (*model_)->forward(b.input);
      terms = task.loss(output, b);
      (void)scopes;
    }
    const auto count = terms.count.detach().to(torch::kFloat32);
    c.loss = terms.sum / count.clamp_min(1.0);
    auto scaled = c.window_length == 1 && !synchronised ? c.loss : terms.sum;
    emit(hook::scale_loss{}, c, scaled);
    scaled.backward();
    return step_outcome{c.loss, count};
  };
  auto eager = eager_step<scales_loss, synchronised, decltype(loop_step)>{loop_step};
  if constexpr (owns_step) {
    std::optional<step_outcome> out;
    hana::for_each(policies, [&](auto& p) {
      if constexpr (hook::run_step::present<std::remove_cvref_t<decltype(p)>>) out = p.run_step(*ctx_, batch, eager);
    });
    return *out;
  } else {
    return eager(batch);
  }
}

template <class Recipe>
void trainer<Recipe>::end_window() {
  auto& c = *ctx_;
  auto count = window_count_;
  window_count_ = torch::Tensor();
  bool finite = guard_.window_finite_here();
  if constexpr (synchronised) {
    const auto agreed = agree({.window_end = true, .count = count, .finite = finite});
    count = agreed.count;
    finite = agreed.finite;
  }
  count = count.clamp_min(1.0);
  if (!guard_.conclude(finite)) {
    ++c.nonfinite_steps;
    optimizer_->zero_grad();
    emit(hook::after_skipped_step{}, c);
    if (guard_.exhausted())
      c.request_stop(fmt::format("{} optimizer steps in a row had a NaN or inf loss (--max_nonfinite_steps {}); "
                                 "each was skipped, so the weights are those of the last finite step",
                                 guard_.consecutive(), guard_.limit()));
    if constexpr (!synchronised) poll_signals();
    return;
  }
  if (c.window_length > 1 || synchronised) normalise_gradients(count);
  emit(hook::unscale_gradients{}, c);
  if (all_agree_to_step()) {
    optimizer_->step();
    ++c.global_step;
    emit(hook::after_optimizer_step{}, c);
  } else {
    emit(hook::after_skipped_step{}, c);
  }
  optimizer_->zero_grad();
  if constexpr (!synchronised) poll_signals();
}

template <class Recipe>
rank_agreement trainer<Recipe>::agree(rank_agreement a) {
  auto& c = *ctx_;
  a.signal = signal_noted_ ? 0 : stop_signals::pending();
  a.stop = c.stop_requested;
  emit(hook::synchronise{}, c, a);
  if (a.signal != 0 && !signal_noted_) {
    signal_noted_ = true;
    c.request_stop(std::string(stop_signals::describe(a.signal)) + (c.world_size > 1 ? " (by a rank)" : ""));
  }
  if (a.stop && !c.stop_requested) c.request_stop("another rank requested a stop");
  return a;
}

template <class Recipe>
void trainer<Recipe>::poll_signals() {
  if (signal_noted_) return;
  if (const int signal_number = stop_signals::pending(); signal_number != 0) {
    signal_noted_ = true;
    ctx_->request_stop(stop_signals::describe(signal_number));
  }
}

template <class Recipe>
void trainer<Recipe>::write_recovery() {
  auto& c = *ctx_;
  const auto path = run.output_dir / "recovery.pt";
  save_checkpoint(path);
  *c.log << fmt::format("{}: wrote {} at epoch {}, batch {}; continue with --resume {}\n", c.stop_reason,
                        path.string(), c.epoch + 1, c.batch_in_epoch, path.string())
         << std::flush;
}

}  // namespace mixtrain
