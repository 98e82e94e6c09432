#pragma once
// The trainer's named events. A policy implements only the events it needs;
// each event below is a callable that is invocable on a policy exactly when
// the policy has that member, so absent events compile to nothing.
//
// Order (see docs/architecture.md and docs/policies.md):
//   add_flags; build: prepare_model (before the optimizer exists),
//     on_model_ready (model, optimizer and context exist);
//   fit: on_fit_begin,
//   per epoch: on_epoch_begin,
//     per micro-batch: prepare_input, forward_scope, scale_loss,
//       at the end of an accumulation window: synchronise (data
//         parallelism: gradients and counts summed over the ranks),
//         unscale_gradients, then
//         before_optimizer_step -> bool (all policies run; any false skips),
//         then after_optimizer_step or after_skipped_step,
//       on_train_batch (progress),
//     evaluation_model, per evaluated batch: on_evaluation_batch (progress),
//     on_validation_end, on_epoch_end,
//   on_interrupt when a stop request ends an epoch early (counters point at
//     the next micro-batch), on_fit_end.
//   save_state / load_state travel with checkpoints.
// unscale_gradients is separate so that every before_optimizer_step (e.g.
// gradient clipping) sees true gradients whatever the recipe order.
namespace mixtrain::event {

#define MIXTRAIN_DEFINE_EVENT(name)                                                     \
  inline constexpr auto name = [](auto& policy, auto&&... args)                         \
      -> decltype(policy.name(static_cast<decltype(args)>(args)...)) {                  \
    return policy.name(static_cast<decltype(args)>(args)...);                           \
  }

MIXTRAIN_DEFINE_EVENT(add_flags);
MIXTRAIN_DEFINE_EVENT(describe);
MIXTRAIN_DEFINE_EVENT(prepare_model);
MIXTRAIN_DEFINE_EVENT(on_model_ready);
MIXTRAIN_DEFINE_EVENT(on_fit_begin);
MIXTRAIN_DEFINE_EVENT(on_epoch_begin);
MIXTRAIN_DEFINE_EVENT(prepare_input);
MIXTRAIN_DEFINE_EVENT(forward_scope);
MIXTRAIN_DEFINE_EVENT(scale_loss);
MIXTRAIN_DEFINE_EVENT(synchronise);
MIXTRAIN_DEFINE_EVENT(unscale_gradients);
MIXTRAIN_DEFINE_EVENT(before_optimizer_step);
MIXTRAIN_DEFINE_EVENT(after_optimizer_step);
MIXTRAIN_DEFINE_EVENT(after_skipped_step);
MIXTRAIN_DEFINE_EVENT(on_train_batch);
MIXTRAIN_DEFINE_EVENT(evaluation_model);
MIXTRAIN_DEFINE_EVENT(on_evaluation_batch);
MIXTRAIN_DEFINE_EVENT(on_validation_end);
MIXTRAIN_DEFINE_EVENT(on_epoch_end);
MIXTRAIN_DEFINE_EVENT(on_interrupt);
MIXTRAIN_DEFINE_EVENT(on_fit_end);
MIXTRAIN_DEFINE_EVENT(save_state);
MIXTRAIN_DEFINE_EVENT(load_state);

#undef MIXTRAIN_DEFINE_EVENT

}  // namespace mixtrain::event
