#pragma once
// mixtrain::trainer's evaluation (core/trainer.hpp), defined out of the class
// like the loop (core/trainer_loop.hpp). Included at the end of trainer.hpp;
// including it alone gives the whole trainer.
#include <torch/torch.h>

#include <mixtrain/core/buffer_average.hpp>
#include <mixtrain/core/trainer.hpp>

namespace mixtrain {

// With data parallelism each rank scores its shard and the task's evaluator
// adds its state over the ranks (a task whose evaluator cannot: every rank
// scores the whole split), after the BatchNorm statistics are averaged.
template <class Recipe>
auto trainer<Recipe>::evaluate(const sample_set& set) -> evaluation_type {
  auto& module = evaluation_module();
  auto evaluator = task.evaluator(set);
  constexpr bool evaluator_sums = requires(decltype(evaluator)& e) { e.sum_over_ranks([](torch::Tensor&) {}); };
  const bool sharded = evaluator_sums && rank_summers == 1 && ctx_ && ctx_->world_size > 1;
  const auto sum = [this](torch::Tensor& values) { sum_over_ranks(values); };
  if (sharded) {
    average_floating_buffers(**model_, ctx_->world_size, sum);
    if (&module != &*model_) average_floating_buffers(*module, ctx_->world_size, sum);
  }
  const bool was_training = module->is_training();
  module->eval();
  torch::NoGradGuard no_grad;
  auto pipeline = data.make_pipeline(set, settings(false, sharded));
  pipeline->start_epoch(0, 0);
  const auto shards = sharded ? ctx_->world_size : 1;
  auto progress = batch_progress::start(*pipeline, 0, (samples_in(set) + shards - 1) / shards, run.fit.batch_size);
  while (auto b = pipeline->next()) {
    auto input = task.input(*b, device());
    emit(hook::prepare_input{}, *ctx_, input);
    torch::Tensor output;
    {
      auto scopes = forward_scopes();
      output = module->forward(input).to(torch::kFloat32);
      (void)scopes;
    }
    evaluator.add(*b, output);
    progress.add(input.size(0));
    emit(hook::on_evaluation_batch{}, *ctx_, progress);
  }
  pipeline->stop();
  if (was_training) module->train();
  if constexpr (evaluator_sums) {
    if (sharded) evaluator.sum_over_ranks(sum);
  }
  return evaluator.finish();
}

}  // namespace mixtrain
