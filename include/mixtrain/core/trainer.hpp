#pragma once
// The generic loop specialised for one recipe: epochs, accumulation windows,
// events and stop requests. It knows no dataset and no task: the data source
// streams host batches, the task turns them into tensors, losses and metrics.
// A policy that is not in the recipe leaves no member, no byte and no branch.
// The loop also keeps a run safe without any policy: SIGINT/SIGTERM stop it at
// the next window end with a recovery checkpoint, a window with a NaN or inf
// loss is skipped (and too many in a row stop the run), and the output folder
// is checked before training. (The loop is one class whose members share the
// policy tuple and the context; its longer members are defined in
// trainer_loop.hpp and trainer_evaluation.hpp, and what could stand alone lives beside it: checkpoints
// and describe in trainer_state.hpp, the loss bookkeeping in epoch_loss.hpp
// and nonfinite_guard.hpp, signals in stop_signals.hpp, `auto` switches in
// trainer_switches.hpp.)
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/hana.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/batch_progress.hpp>
#include <mixtrain/core/context.hpp>
#include <mixtrain/core/epoch_loss.hpp>
#include <mixtrain/core/nonfinite_guard.hpp>
#include <mixtrain/core/policy_list.hpp>
#include <mixtrain/core/recipe.hpp>
#include <mixtrain/core/run_settings.hpp>
#include <mixtrain/core/stop_signals.hpp>
#include <mixtrain/core/trainer_state.hpp>
#include <mixtrain/core/trainer_switches.hpp>
#include <mixtrain/io/checkpoint.hpp>
#include <mixtrain/io/files.hpp>
#include <mixtrain/io/weights.hpp>

namespace mixtrain {


template <class Recipe>
class trainer {
 public:
  using recipe_type = Recipe;
  using model_spec = typename Recipe::model;
  using module_type = decltype(model_spec::build(model::build_options{}));
  using data_type = typename Recipe::data;
  using task_type = typename Recipe::task;
  using optimizer_spec = typename Recipe::optimizer;
  using optimizer_type = typename optimizer_spec::optimizer_type;
  using metrics_type = typename task_type::metrics_type;
  using target_info = typename data_type::target_info;
  using sample_set = typename data_type::sample_set;
  using context_type = basic_context<module_type, optimizer_type, metrics_type, trainer>;
  using policy_tuple = typename detail::policy_storage<context_type, typename Recipe::policies>::type;
  using evaluation_type = decltype(std::declval<task_type&>().evaluator(std::declval<const sample_set&>()).finish());
  static constexpr std::size_t policy_count = decltype(hana::length(policy_tuple{}))::value;
  // A data-parallel recipe (policy/distributed.hpp): ranks agree at window
  // and epoch ends, and every window is normalised by its global count.
  static constexpr bool synchronised = detail::any_policy_has<hook::synchronise, policy_tuple>::value;
  static constexpr bool scales_loss = detail::any_policy_has<hook::scale_loss, policy_tuple>::value;
  // Validation too is sharded where a policy sums over the ranks (distributed).
  static constexpr int rank_summers = detail::policies_with<hook::sum_over_ranks, policy_tuple>::value;
  static_assert(rank_summers <= 1, "at most one policy of a recipe may implement sum_over_ranks (each would add again)");
  // A policy runs each micro-batch's forward and backward (cuda_graph).
  static constexpr int step_owners = detail::policies_with<hook::run_step, policy_tuple>::value;
  static constexpr bool owns_step = step_owners > 0;
  static_assert(step_owners <= 1, "at most one policy of a recipe may implement run_step (it owns the training step)");

  // Every hook of every policy is checked, used or not.
  static_assert(detail::hooks_checked<context_type, policy_tuple>::ok);

  // Compiled defaults; the command line binds into these before build().
  data_type data;
  task_type task;
  optimizer_spec optimizer_settings;
  [[no_unique_address]] policy_tuple policies;
  run_settings run = [] {
    run_settings r;
    r.fit = Recipe::fit_defaults;
    return r;
  }();

  // Raises one hook on every policy that has it, in recipe order. A hook
  // that returns true (those that may stop) requests a stop.
  template <class Hook, class... Args>
  void emit(Hook, Args&... args) {
    // (A tuple, not the pack, is captured: GCC 12 cannot capture packs here.)
    auto arguments = std::tie(args...);
    hana::for_each(policies, [&](auto& p) {
      if constexpr (Hook::template present<std::remove_cvref_t<decltype(p)>>)
        std::apply([&](auto&... a) { raise<Hook>(p, a...); }, arguments);
    });
  }

  [[nodiscard]] torch::Device device() const { return torch::Device(run.device); }

  // Builds model and optimizer for the targets the data names (policies may
  // reshape the model, e.g. channels-last, before the optimizer sees it).
  void build(const target_info& targets) {
    targets_ = targets;
    build_options_ = task.setup(
        targets, model_facts{model_spec::name, model_spec::output_stride, 1, model::has_global_class_head<model_spec>});
    model_.emplace(model_spec::build(build_options_));
    (*model_)->to(device());
    if (run.measure_switches) detail::settle_measured_switches(*this, build_options_.in_channels);
    emit(hook::prepare_model{}, *model_);
    // Listed once: a parameters() walk builds a name-keyed dict, tens of µs per
    // call, and loading a checkpoint updates these tensors in place.
    parameters_ = (*model_)->parameters();
    optimizer_.emplace(optimizer_settings.build(parameters_));
    ctx_.emplace(*model_, *optimizer_, device(), *this);
    ctx_->epochs = run.fit.epochs;
    ctx_->output_dir = run.output_dir;
    emit(hook::on_model_ready{}, *ctx_);
  }

  // A fresh module of the same type given copies of every tensor (clone keeps
  // the memory format, so a channels-last model copies as channels-last).
  [[nodiscard]] module_type copy_model() {
    auto fresh = model_spec::build(build_options_);
    torch::NoGradGuard no_grad;
    auto source = (*model_)->named_parameters(true);
    for (auto& p : fresh->named_parameters(true)) p.value().set_data(source[p.key()].detach().clone());
    auto source_buffers = (*model_)->named_buffers(true);
    for (auto& b : fresh->named_buffers(true)) b.value().set_data(source_buffers[b.key()].detach().clone());
    fresh->train((*model_)->is_training());
    return fresh;
  }

  [[nodiscard]] module_type& model() { return *model_; }
  [[nodiscard]] const std::vector<torch::Tensor>& parameters() const { return parameters_; }
  [[nodiscard]] optimizer_type& optimizer() { return *optimizer_; }
  [[nodiscard]] context_type& ctx() { return *ctx_; }
  [[nodiscard]] const target_info& targets() const { return targets_; }

  [[nodiscard]] std::int64_t parameter_count() {
    std::int64_t n = 0;
    for (const auto& p : (*model_)->parameters()) n += p.numel();
    return n;
  }

  // What a checkpoint must match: model, data source and task fields.
  [[nodiscard]] nlohmann::json contract() const {
    nlohmann::json c = {{"recipe", run.recipe_name}, {"model", model_spec::name}, {"in_channels", build_options_.in_channels}};
    c.update(data.contract());
    c.update(task.contract());
    return c;
  }

  [[nodiscard]] nlohmann::json describe() { return detail::describe_trainer(*this); }

  // The task's device batch (input and targets) for a host batch.
  auto to_device(const typename data_type::batch_type& b) { return task.to_device(b, device()); }

  // --- one training micro-batch -----------------------------------------------
  // Forward, loss and backward; at the end of an accumulation window the
  // window's gradient is normalised by the targets present in the whole
  // window (so 4 micro-batches of 2 equal one batch of 8, also with missing
  // landmarks or a short last window), then the optimizer step and its hooks.
  // Nothing here reads a value back from the device, except the window's
  // finiteness check, once per optimizer step.
  template <class DeviceBatch>
  void train_micro_batch(DeviceBatch&& batch, bool window_ends) {
    auto& c = *ctx_;
    if (!window_count_.defined()) guard_.window_begins();
    emit(hook::prepare_input{}, c, batch.input);
    c.window_ends = window_ends;
    const auto step = run_step(batch);
    c.loss = step.loss;
    guard_.add(c.loss);
    window_count_ = window_count_.defined() ? window_count_ + step.count : step.count;
    epoch_loss_.add(c.loss.detach());
    ++c.micro_step;
    if (window_ends) end_window();
  }

  // Where micro-batch `batch_in_epoch` falls in its accumulation window:
  // windows restart each epoch and the last one may be shorter.
  struct window_position {
    std::int64_t length = 1;  // micro-batches in this window
    bool ends = true;         // the optimizer steps after this micro-batch
  };
  [[nodiscard]] static window_position window_at(std::int64_t batch_in_epoch, std::int64_t batches_per_epoch,
                                                 std::int64_t steps) {
    const auto start = (batch_in_epoch / steps) * steps;
    const auto length = std::min(steps, batches_per_epoch - start);
    return {length, batch_in_epoch + 1 == start + length};
  }

  // Micro-batches per optimizer update: the policy that answers
  // accumulation_steps() (at most one may), else 1.
  [[nodiscard]] std::int64_t accumulation_steps() const {
    std::int64_t steps = 1;
    hana::for_each(policies, [&](const auto& p) {
      if constexpr (hook::accumulation_steps::present<std::remove_cvref_t<decltype(p)>>) steps = p.accumulation_steps();
    });
    return std::max<std::int64_t>(1, steps);
  }

  // --- evaluation ---------------------------------------------------------------
  // The weights to evaluate: a policy's (EMA's shadow, same module type) or the model.
  module_type& evaluation_module() {
    module_type* chosen = &*model_;
    hana::for_each(policies, [&](auto& p) {
      if constexpr (hook::evaluation_model::present<std::remove_cvref_t<decltype(p)>>)
        if (auto* m = p.evaluation_model(*ctx_)) chosen = m;
    });
    return *chosen;
  }

  // Runs the evaluation weights over a split and lets the task score it
  // (core/trainer_evaluation.hpp). Training's validation and the evaluate
  // and predict commands run this.
  evaluation_type evaluate(const sample_set& set);

  void sum_over_ranks(torch::Tensor& values) { emit(hook::sum_over_ranks{}, *ctx_, values); }

  [[nodiscard]] pipeline_settings settings(bool training, bool sharded_evaluation = false) const {
    pipeline_settings s;
    s.batch_size = run.fit.batch_size;
    s.num_workers = training ? run.fit.num_workers : std::max(1, run.fit.num_workers);
    s.prefetch_batches = run.fit.prefetch_batches;
    s.memory_budget_bytes = static_cast<std::size_t>(run.fit.memory_budget_mb) << 20;
    s.cache_bytes = training ? static_cast<std::size_t>(run.fit.cache_mb) << 20 : 0;
    s.seed = run.fit.seed;
    s.training = training;
    s.skip_bad_samples = run.skip_bad_samples;
    s.log = ctx_ ? ctx_->log : &std::cout;
    if ((training || sharded_evaluation) && ctx_) {  // data parallelism: this rank's shard
      s.shard = ctx_->rank;
      s.shards = ctx_->world_size;
    }
    return s;
  }

  // --- checkpoints and the output folder --------------------------------------------
  // Rank 0 alone writes (the ranks hold the same weights).
  void save_checkpoint(const std::filesystem::path& path) {
    if (ctx_->writes_files()) detail::write_trainer_checkpoint(*this, path, identity_);
  }

  enum class restore { weights_only, everything };

  // Loads a checkpoint after checking its contract against this recipe and
  // data; `everything` also restores optimizer, counters and policy states,
  // and the next fit refuses to continue it unless its run is the same.
  void load_checkpoint(const std::filesystem::path& path, restore what) {
    auto stored = detail::read_trainer_checkpoint(*this, path, what == restore::everything);
    if (what == restore::everything) resumed_from_ = {path, std::move(stored)};
  }

  // What a resumed run must share with the run that wrote the checkpoint.
  [[nodiscard]] nlohmann::json run_identity(const sample_set& train) const {
    nlohmann::json identity = {{"batch_size", run.fit.batch_size},
                               {"accumulation_steps", accumulation_steps()},
                               {"seed", run.fit.seed},
                               {"policies", detail::policy_names(policies)}};
    if constexpr (requires { data.identity(train); }) identity["train_data"] = data.identity(train);
    if constexpr (synchronised) identity["world_size"] = ctx_->world_size;  // the shards depend on it
    return identity;
  }

  // Refuses an output folder that cannot take two checkpoints of this run
  // (the new one is written before the old one goes), before any training.
  void check_output_folder() const {
    if (ctx_ && !ctx_->writes_files()) return;  // data parallelism: rank 0 writes
    io::require_writable_folder(run.output_dir, 2 * detail::checkpoint_bytes_bound(**model_));
  }

  // The running epoch's finite-loss sum and count, read back for a checkpoint
  // written mid-epoch, so the resumed epoch reports the same mean loss.
  [[nodiscard]] std::pair<double, double> epoch_loss_so_far() const { return epoch_loss_.so_far(); }
  void continue_epoch_loss(std::pair<double, double> so_far) { epoch_loss_.carry(so_far); }

  // Model weights only (--init_from): a checkpoint or a tensor file.
  io::load_report load_weights(const std::filesystem::path& path, bool strict = true) {
    return io::load_weights(**model_, path, strict);
  }

  // --- the fit loop -----------------------------------------------------------------
  struct fit_result {
    std::optional<evaluation_type> validation;
    std::int64_t epochs_run = 0;
    bool interrupted_by_signal = false;  // recovery.pt was written; exit cleanly
    bool nonfinite_stop = false;         // too many NaN/inf windows in a row: a failed run
  };

  fit_result fit(const sample_set& train, const sample_set& valid);  // core/trainer_loop.hpp

 private:
  using clock = std::chrono::steady_clock;

  template <class Hook, class P, class... Args>
  void raise(P& p, Args&... args) {
    if constexpr (std::is_same_v<decltype(Hook::call(p, args...)), bool>) {
      if (Hook::call(p, args...)) ctx_->request_stop(std::string(P::name) + " requested a stop");
    } else {
      Hook::call(p, args...);
    }
  }
  static double seconds_since(clock::time_point start) {
    return std::chrono::duration<double>(clock::now() - start).count();
  }

  // The micro-batch's forward, loss, scale_loss and backward: the loop's own,
  // or the run_step policy's (cuda_graph), which gets the loop's as `eager`.
  template <class DeviceBatch>
  step_outcome run_step(DeviceBatch& batch);

  // One epoch's training part; false when a stop request ended it early.
  template <class Pipeline>
  bool train_epoch(Pipeline& pipeline, std::int64_t window, std::int64_t samples);

  auto forward_scopes() {
    return hana::transform(policies, [&](auto& p) {
      if constexpr (hook::forward_scope::present<std::remove_cvref_t<decltype(p)>>) return p.forward_scope(*ctx_);
      else return hana::nothing;
    });
  }

  // True unless some policy's before_optimizer_step returned false (all run).
  bool all_agree_to_step() {
    bool proceed = true;
    hana::for_each(policies, [&](auto& p) {
      if constexpr (hook::before_optimizer_step::present<std::remove_cvref_t<decltype(p)>>)
        proceed = p.before_optimizer_step(*ctx_) && proceed;
    });
    return proceed;
  }

  void normalise_gradients(const torch::Tensor& count) {
    torch::NoGradGuard no_grad;
    for (const auto& p : parameters_)
      if (p.grad().defined()) p.mutable_grad().div_(count);
  }

  // The end of an accumulation window: the step, or a skip when a loss of the
  // window was not finite (then the gradients are dropped and counted).
  void end_window();

  // Data parallelism: the ranks exchange their window (or epoch-end) state;
  // a signal or stop request on any rank stops all at the same point. Signals
  // are read only here, so no rank can act on one the others have not seen.
  rank_agreement agree(rank_agreement a);

  // A first SIGINT/SIGTERM becomes a stop request (at a window end or after
  // an epoch, the points a checkpoint can resume from).
  void poll_signals();

  // After a stop mid-epoch or a signal: a checkpoint that resumes exactly here.
  void write_recovery();

  struct resume_source {
    std::filesystem::path path;
    nlohmann::json identity;
  };

  clock::time_point epoch_started_;
  target_info targets_;
  model::build_options build_options_;
  std::vector<torch::Tensor> parameters_;
  std::optional<module_type> model_;
  std::optional<optimizer_type> optimizer_;
  std::optional<context_type> ctx_;
  torch::Tensor window_count_;  // present targets of the accumulation window so far
  epoch_loss epoch_loss_;
  nonfinite_guard guard_;
  bool signal_noted_ = false;
  nlohmann::json identity_;                    // this run's, stored in every checkpoint
  std::optional<resume_source> resumed_from_;  // the checkpoint a resume restored
};

}  // namespace mixtrain

#include <mixtrain/core/trainer_evaluation.hpp>  // evaluate
#include <mixtrain/core/trainer_loop.hpp>        // the loop's longer members
