#pragma once
// The policy event contract. A hook is found by its NAME first: any member
// called `on_epoch_end` is a hook, whatever its parameters. Then its signature
// is checked against the table below, and a wrong one is a compile error in
// `check_<hook><Policy, Context>`, whose instantiation names the policy type
// and whose message states the expected signature.
//
// Parameters: the context is taken as `auto&` (or the context type by
// non-const reference); the tensors of prepare_input and scale_loss as
// `torch::Tensor&`. By-value or const parameters would silently lose the
// policy's changes (a stop request, a converted input), so they are rejected.
// Hooks marked "may stop" return void or bool; `true` requests a stop.
//
// A misspelled hook name (`on_epoch_start`) is no hook at all: a policy can
// opt in to a both-ways check by listing what it implements,
//   using hooks = mt::hook_list<mt::hook::on_epoch_end, mt::hook::describe>;
// then every listed hook must exist and every member named like a hook must
// be listed (core/recipe.hpp checks it).
#include <concepts>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/batch_progress.hpp>
#include <mixtrain/core/flag_set.hpp>

namespace mixtrain {

// What the ranks of a data-parallel run agree on (policy/distributed.hpp):
// at a window end the gradients are summed over the ranks, `count` becomes
// the whole global window's present targets, and a non-finite loss or a stop
// signal on any rank applies to all; after an epoch, stop requests and
// signals only. Without the policy the trainer never builds one.
struct rank_agreement {
  bool window_end = false;  // gradients and count are summed too
  torch::Tensor count;      // this rank's window count in, the global one out
  bool finite = true;       // in: here; out: on every rank
  int signal = 0;           // in: a stop signal pending here; out: one pending on any rank (0: none)
  bool stop = false;        // in: a stop requested here; out: on any rank
};

// One training micro-batch's forward, loss and backward, as run_step returns
// it: the loss normalised by its present-target count, and that count (float).
struct step_outcome {
  torch::Tensor loss;
  torch::Tensor count;
};

// The loop's own forward, loss, scale_loss and backward, handed to a run_step
// policy, with what the policy must know of the recipe at compile time.
template <bool ScalesLoss, bool Synchronised, class Step>
struct eager_step {
  static constexpr bool scales_loss = ScalesLoss;    // a policy implements scale_loss (amp<fp16>)
  static constexpr bool synchronised = Synchronised;  // gradients are all-reduced (distributed)
  Step step;
  template <class DeviceBatch>
  step_outcome operator()(DeviceBatch& batch) {
    return step(batch);
  }
};

namespace hook_detail {
template <class T>
concept void_or_bool = std::same_as<T, void> || std::same_as<T, bool>;
}  // namespace hook_detail

// One hook: a name detector, an invoker and a signature check.
//   MIXTRAIN_HOOK(name, accepts-expression over P and C, "expected signature")
// `present<P>`: P has a member with this name (ambiguity trick: a class
// deriving from P and from a probe that has the member makes the name
// ambiguous exactly when P has it too).
#define MIXTRAIN_HOOK(hook_name, accepts_expression, expected)                                            \
  namespace hook_detail {                                                                                \
  struct hook_name##_probe {                                                                             \
    int hook_name;                                                                                       \
  };                                                                                                     \
  template <class P>                                                                                     \
  struct hook_name##_mix : P, hook_name##_probe {};                                                      \
  }                                                                                                      \
  namespace hook {                                                                                       \
  struct hook_name {                                                                                     \
    static constexpr std::string_view name = #hook_name;                                                 \
    static constexpr std::string_view signature = expected;                                              \
    template <class P>                                                                                   \
    static constexpr bool present = std::is_class_v<P> && !std::is_final_v<P> &&                         \
                                    !requires { &hook_detail::hook_name##_mix<P>::hook_name; };          \
    template <class P, class C>                                                                          \
    static constexpr bool accepts = accepts_expression;                                                  \
    template <class P, class... Args>                                                                    \
    static decltype(auto) call(P& policy, Args&&... args) {                                              \
      return policy.hook_name(static_cast<Args&&>(args)...);                                             \
    }                                                                                                    \
  };                                                                                                     \
  }                                                                                                      \
  template <class Policy, class Context>                                                                 \
  struct check_##hook_name {                                                                             \
    static constexpr bool ok = !hook::hook_name::present<Policy> || hook::hook_name::accepts<Policy, Context>; \
    static_assert(ok, "policy hook '" #hook_name "' has the wrong signature; expected: " expected);      \
  };

// Invocable with the context as a non-const lvalue only (a by-value, const&
// or && parameter also binds an rvalue), returning R.
#define MIXTRAIN_CTX_HOOK(hook_name, result_check, expected)                                              \
  MIXTRAIN_HOOK(hook_name,                                                                               \
                (requires(P& p, C& c) {                                                                  \
                  { p.hook_name(c) } -> result_check;                                                    \
                } && !requires(P& p, C&& c) { p.hook_name(static_cast<C&&>(c)); }),                      \
                expected)

// Same, with a tensor that the hook may replace (lvalue reference only).
#define MIXTRAIN_CTX_TENSOR_HOOK(hook_name, expected)                                                     \
  MIXTRAIN_HOOK(hook_name,                                                                               \
                (requires(P& p, C& c, torch::Tensor& t) {                                                \
                  { p.hook_name(c, t) } -> std::same_as<void>;                                           \
                } && !requires(P& p, C& c, torch::Tensor&& t) { p.hook_name(c, static_cast<torch::Tensor&&>(t)); } && \
                 !requires(P& p, C&& c, torch::Tensor& t) { p.hook_name(static_cast<C&&>(c), t); }),     \
                expected)

MIXTRAIN_HOOK(add_flags, (requires(P& p, flag_set flags) {
                { p.add_flags(flags) } -> std::same_as<void>;
              }),
              "void add_flags(mt::flag_set)")
MIXTRAIN_HOOK(describe, (requires(const P& p) {
                { p.describe() } -> std::convertible_to<nlohmann::json>;
              }),
              "nlohmann::json describe() const")
// The model holder (the recipe's module type), before the optimizer exists.
MIXTRAIN_HOOK(prepare_model, (requires(P& p, typename C::module_type& m) {
                { p.prepare_model(m) } -> std::same_as<void>;
              } && !requires(P& p, typename C::module_type&& m) { p.prepare_model(static_cast<typename C::module_type&&>(m)); }),
              "void prepare_model(auto& model)")
// Micro-batches per optimizer update (gradient accumulation); at most one
// policy of a recipe answers it.
MIXTRAIN_HOOK(accumulation_steps, (requires(const P& p) {
                { p.accumulation_steps() } -> std::convertible_to<std::int64_t>;
              }),
              "std::int64_t accumulation_steps() const")
MIXTRAIN_CTX_HOOK(on_model_ready, std::same_as<void>, "void on_model_ready(auto& context)")
MIXTRAIN_CTX_HOOK(on_fit_begin, hook_detail::void_or_bool, "void or bool on_fit_begin(auto& context)")
MIXTRAIN_CTX_HOOK(on_epoch_begin, hook_detail::void_or_bool, "void or bool on_epoch_begin(auto& context)")
MIXTRAIN_CTX_TENSOR_HOOK(prepare_input, "void prepare_input(auto& context, torch::Tensor& input)")
MIXTRAIN_HOOK(forward_scope, (requires(P& p, C& c) { p.forward_scope(c); } &&
                              !requires(P& p, C&& c) { p.forward_scope(static_cast<C&&>(c)); }),
              "auto forward_scope(auto& context) returning an RAII object")
MIXTRAIN_CTX_TENSOR_HOOK(scale_loss, "void scale_loss(auto& context, torch::Tensor& loss)")
// Runs the micro-batch's forward, loss and backward its own way (a CUDA graph)
// instead of the loop; `eager(batch)` is the loop's own step. At most one policy.
namespace hook_detail {
struct probe_batch {
  torch::Tensor input;
};
using probe_eager = eager_step<false, false, step_outcome (*)(probe_batch&)>;
}  // namespace hook_detail
MIXTRAIN_HOOK(run_step, (requires(P& p, C& c, hook_detail::probe_batch& b, hook_detail::probe_eager& e) {
                { p.run_step(c, b, e) } -> std::same_as<step_outcome>;
              } && !requires(P& p, C&& c, hook_detail::probe_batch& b, hook_detail::probe_eager& e) {
                p.run_step(static_cast<C&&>(c), b, e);
              }),
              "step_outcome run_step(auto& context, auto& device_batch, auto& eager_step)")
// Data parallelism: the policy that runs the collectives (at most one).
MIXTRAIN_HOOK(synchronise, (requires(P& p, C& c, rank_agreement& a) {
                { p.synchronise(c, a) } -> std::same_as<void>;
              } && !requires(P& p, C&& c, rank_agreement& a) { p.synchronise(static_cast<C&&>(c), a); }),
              "void synchronise(auto& context, rank_agreement&)")
// Data parallelism: sums a host tensor over the ranks in place (validation's
// per-image sums, BatchNorm statistics). The policy that runs the collectives.
MIXTRAIN_CTX_TENSOR_HOOK(sum_over_ranks, "void sum_over_ranks(auto& context, torch::Tensor& values)")
MIXTRAIN_CTX_HOOK(unscale_gradients, std::same_as<void>, "void unscale_gradients(auto& context)")
MIXTRAIN_CTX_HOOK(before_optimizer_step, std::same_as<bool>,
                  "bool before_optimizer_step(auto& context) (false skips the step)")
MIXTRAIN_CTX_HOOK(after_optimizer_step, hook_detail::void_or_bool, "void or bool after_optimizer_step(auto& context)")
MIXTRAIN_CTX_HOOK(after_skipped_step, hook_detail::void_or_bool, "void or bool after_skipped_step(auto& context)")
// After each micro-batch of training and each evaluated batch: how far the
// pass has come (host-side counts; core/batch_progress.hpp). Progress output.
#define MIXTRAIN_CTX_PROGRESS_HOOK(hook_name, expected)                                                     \
  MIXTRAIN_HOOK(hook_name,                                                                               \
                (requires(P& p, C& c, const batch_progress& b) {                                         \
                  { p.hook_name(c, b) } -> std::same_as<void>;                                           \
                } && !requires(P& p, C&& c, const batch_progress& b) { p.hook_name(static_cast<C&&>(c), b); }), \
                expected)
MIXTRAIN_CTX_PROGRESS_HOOK(on_train_batch, "void on_train_batch(auto& context, const batch_progress&)")
MIXTRAIN_CTX_PROGRESS_HOOK(on_evaluation_batch, "void on_evaluation_batch(auto& context, const batch_progress&)")
MIXTRAIN_CTX_HOOK(evaluation_model, std::same_as<typename C::module_type*>,
                  "module_type* evaluation_model(auto& context) (the recipe's module holder, or nullptr)")
MIXTRAIN_CTX_HOOK(on_validation_end, hook_detail::void_or_bool, "void or bool on_validation_end(auto& context)")
MIXTRAIN_CTX_HOOK(on_epoch_end, hook_detail::void_or_bool, "void or bool on_epoch_end(auto& context)")
MIXTRAIN_CTX_HOOK(on_interrupt, std::same_as<void>, "void on_interrupt(auto& context)")
MIXTRAIN_CTX_HOOK(on_fit_end, std::same_as<void>, "void on_fit_end(auto& context)")
MIXTRAIN_HOOK(save_state, (requires(const P& p, torch::serialize::OutputArchive& a) {
                { p.save_state(a) } -> std::same_as<void>;
              }),
              "void save_state(torch::serialize::OutputArchive&) const")
MIXTRAIN_HOOK(load_state, (requires(P& p, torch::serialize::InputArchive& a) {
                { p.load_state(a) } -> std::same_as<void>;
              }),
              "void load_state(torch::serialize::InputArchive&)")

#undef MIXTRAIN_CTX_PROGRESS_HOOK
#undef MIXTRAIN_CTX_TENSOR_HOOK
#undef MIXTRAIN_CTX_HOOK
#undef MIXTRAIN_HOOK

// Every hook, in the order the trainer raises them (see docs/architecture.md).
template <class... Hooks>
struct hook_list {};

using all_hooks =
    hook_list<hook::add_flags, hook::describe, hook::prepare_model, hook::accumulation_steps, hook::on_model_ready,
              hook::on_fit_begin, hook::on_epoch_begin, hook::prepare_input, hook::forward_scope, hook::scale_loss,
              hook::run_step, hook::synchronise, hook::sum_over_ranks, hook::unscale_gradients, hook::before_optimizer_step, hook::after_optimizer_step,
              hook::after_skipped_step, hook::on_train_batch, hook::evaluation_model, hook::on_evaluation_batch,
              hook::on_validation_end, hook::on_epoch_end, hook::on_interrupt, hook::on_fit_end, hook::save_state,
              hook::load_state>;

// Instantiates every signature check of one policy (each static_asserts).
template <class Policy, class Context>
struct check_hooks {
  static constexpr bool ok =
      check_add_flags<Policy, Context>::ok && check_describe<Policy, Context>::ok &&
      check_prepare_model<Policy, Context>::ok && check_accumulation_steps<Policy, Context>::ok &&
      check_on_model_ready<Policy, Context>::ok && check_on_fit_begin<Policy, Context>::ok &&
      check_on_epoch_begin<Policy, Context>::ok && check_prepare_input<Policy, Context>::ok &&
      check_forward_scope<Policy, Context>::ok && check_scale_loss<Policy, Context>::ok &&
      check_run_step<Policy, Context>::ok &&
      check_synchronise<Policy, Context>::ok && check_sum_over_ranks<Policy, Context>::ok && check_unscale_gradients<Policy, Context>::ok && check_before_optimizer_step<Policy, Context>::ok &&
      check_after_optimizer_step<Policy, Context>::ok && check_after_skipped_step<Policy, Context>::ok &&
      check_on_train_batch<Policy, Context>::ok && check_evaluation_model<Policy, Context>::ok &&
      check_on_evaluation_batch<Policy, Context>::ok && check_on_validation_end<Policy, Context>::ok &&
      check_on_epoch_end<Policy, Context>::ok && check_on_interrupt<Policy, Context>::ok &&
      check_on_fit_end<Policy, Context>::ok && check_save_state<Policy, Context>::ok &&
      check_load_state<Policy, Context>::ok;
};

// The opt-in list: `using hooks = mt::hook_list<...>` in a policy.
namespace hook_detail {
template <class Hook, class List>
struct listed;
template <class Hook, class... Hooks>
struct listed<Hook, hook_list<Hooks...>> : std::bool_constant<(std::same_as<Hook, Hooks> || ...)> {};

template <class Policy, class Listed, class... Hooks>
constexpr int count_unlisted(hook_list<Hooks...>) {
  return (0 + ... + (Hooks::template present<Policy> && !listed<Hooks, Listed>::value ? 1 : 0));
}
template <class Policy, class... Hooks>
constexpr int count_missing(hook_list<Hooks...>) {
  return (0 + ... + (Hooks::template present<Policy> ? 0 : 1));
}
}  // namespace hook_detail

template <class Policy>
struct check_listed_hooks {
  static constexpr bool ok = true;
};
template <class Policy>
  requires requires { typename Policy::hooks; }
struct check_listed_hooks<Policy> {
  static constexpr int missing = hook_detail::count_missing<Policy>(typename Policy::hooks{});
  static constexpr int unlisted = hook_detail::count_unlisted<Policy, typename Policy::hooks>(all_hooks{});
  static_assert(missing == 0,
                "a hook named in this policy's `hooks` list is not a member of the policy (misspelled or missing)");
  static_assert(unlisted == 0, "this policy has a hook member that its `hooks` list does not name");
  static constexpr bool ok = missing == 0 && unlisted == 0;
};

}  // namespace mixtrain
