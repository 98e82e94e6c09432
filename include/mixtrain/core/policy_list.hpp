#pragma once
// How the trainer stores a recipe's policies: each bound to the recipe's
// context type where it asks for it, the default logging and progress
// policies added unless the recipe replaces them, and every hook of every
// policy checked.
#include <string_view>
#include <type_traits>

#include <boost/hana.hpp>

#include <mixtrain/core/hooks.hpp>
#include <mixtrain/core/metrics.hpp>
#include <mixtrain/policy/logging.hpp>
#include <mixtrain/policy/progress.hpp>

namespace mixtrain {

namespace hana = boost::hana;

namespace detail {
// A policy that needs the recipe's types declares `template <class Context>
// using bind = ...;` (EMA keeps a shadow of the real module type).
template <class P, class Context>
struct bound {
  using type = P;
};
template <class P, class Context>
  requires requires { typename P::template bind<Context>; }
struct bound<P, Context> {
  using type = typename P::template bind<Context>;
};

template <class Group, class... Ps>
constexpr bool group_taken() {
  return ((requires { Ps::exclusive; } && [] {
            if constexpr (requires { Ps::exclusive; }) return std::string_view(Ps::exclusive) == Group::exclusive;
            else return false;
          }()) ||
          ...);
}

// Appends P to a basic_tuple when `add` holds.
template <bool add, class P, class Tuple>
struct append_if {
  using type = Tuple;
};
template <class P, class... Ts>
struct append_if<true, P, hana::basic_tuple<Ts...>> {
  using type = hana::basic_tuple<Ts..., P>;
};

// The recipe's policies, bound, then the default policies whose group the
// recipe does not fill: console and CSV logging, progress output.
// hana::basic_tuple inherits its elements, so stateless policies take no bytes.
template <class Context, class Policies>
struct policy_storage;
template <class Context, class... Ps>
struct policy_storage<Context, hana::tuple<Ps...>> {
  static constexpr bool add_console = !group_taken<policy::console_log, Ps...>();
  static constexpr bool add_csv = !group_taken<policy::csv_log, Ps...>();
  static constexpr bool add_progress = !group_taken<policy::progress<>, Ps...>();
  using recipe_policies = hana::basic_tuple<typename bound<Ps, Context>::type...>;
  using type = typename append_if<
      add_progress, policy::progress<>,
      typename append_if<add_csv, policy::csv_log,
                         typename append_if<add_console, policy::console_log, recipe_policies>::type>::type>::type;
};

// Whether any stored policy has the hook (e.g. synchronise: a distributed run).
template <class Hook, class Tuple>
struct any_policy_has;
template <class Hook, class... Ps>
struct any_policy_has<Hook, hana::basic_tuple<Ps...>> : std::bool_constant<(Hook::template present<Ps> || ...)> {};

// How many stored policies have the hook (run_step: at most one).
template <class Hook, class Tuple>
struct policies_with;
template <class Hook, class... Ps>
struct policies_with<Hook, hana::basic_tuple<Ps...>> : std::integral_constant<int, (0 + ... + (Hook::template present<Ps> ? 1 : 0))> {};

template <class Context, class Tuple>
struct hooks_checked;
template <class P, class Metrics>
constexpr bool monitor_checked() {
  if constexpr (requires { P::monitor; }) return check_monitor<P, Metrics>::ok;
  else return true;
}
template <class Context, class... Ps>
struct hooks_checked<Context, hana::basic_tuple<Ps...>> {
  static constexpr bool ok = ((check_hooks<Ps, Context>::ok && check_listed_hooks<Ps>::ok &&
                               monitor_checked<Ps, typename Context::metrics_type>()) &&
                              ... && true);
};
}  // namespace detail

}  // namespace mixtrain
