#pragma once
// The trainer's named events. A policy implements only the events it needs;
// each event below is a callable that is invocable on a policy exactly when
// the policy has that member, so absent events compile to nothing.
//
// Order within one fit (see docs/architecture.md):
//   add_flags, prepare_model, on_fit_begin,
//   per epoch: on_epoch_begin,
//     per micro-batch: prepare_input, forward_scope, scale_loss,
//       at the end of an accumulation window: before_optimizer_step -> bool,
//         then after_optimizer_step or after_skipped_step,
//     evaluation_model, on_validation_end, on_epoch_end,
//   on_fit_end.  save_state / load_state travel with checkpoints.
namespace mixtrain::event {

#define MIXTRAIN_DEFINE_EVENT(name)                                                     \
  inline constexpr auto name = [](auto& policy, auto&&... args)                         \
      -> decltype(policy.name(static_cast<decltype(args)>(args)...)) {                  \
    return policy.name(static_cast<decltype(args)>(args)...);                           \
  }

MIXTRAIN_DEFINE_EVENT(add_flags);
MIXTRAIN_DEFINE_EVENT(describe);
MIXTRAIN_DEFINE_EVENT(prepare_model);
MIXTRAIN_DEFINE_EVENT(on_fit_begin);
MIXTRAIN_DEFINE_EVENT(on_epoch_begin);
MIXTRAIN_DEFINE_EVENT(prepare_input);
MIXTRAIN_DEFINE_EVENT(forward_scope);
MIXTRAIN_DEFINE_EVENT(scale_loss);
MIXTRAIN_DEFINE_EVENT(before_optimizer_step);
MIXTRAIN_DEFINE_EVENT(after_optimizer_step);
MIXTRAIN_DEFINE_EVENT(after_skipped_step);
MIXTRAIN_DEFINE_EVENT(evaluation_model);
MIXTRAIN_DEFINE_EVENT(on_validation_end);
MIXTRAIN_DEFINE_EVENT(on_epoch_end);
MIXTRAIN_DEFINE_EVENT(on_fit_end);
MIXTRAIN_DEFINE_EVENT(save_state);
MIXTRAIN_DEFINE_EVENT(load_state);

#undef MIXTRAIN_DEFINE_EVENT

}  // namespace mixtrain::event
