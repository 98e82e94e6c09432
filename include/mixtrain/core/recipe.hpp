#pragma once
// A recipe is a flat type list: model, data source, task, optimizer, then any
// number of policies plus, optionally, one mt::fit<> block of run defaults.
// Every role is checked here, at compile time, with sentences; the offending
// type is named in the instantiation of the check that fails.
#include <concepts>
#include <cstdint>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include <boost/hana.hpp>

#include <mixtrain/core/fields.hpp>
#include <mixtrain/core/roles.hpp>

namespace mixtrain {

namespace hana = boost::hana;

// Run defaults compiled into the recipe; each has a command-line flag.
struct fit_config {
  int epochs = 30;
  int batch_size = 8;
  int num_workers = 2;  // 0 = measure and pick ("auto")
  int prefetch_batches = 2;
  int memory_budget_mb = 2048;
  int cache_mb = 0;
  int threads = 0;  // LibTorch intra-op threads; 0 = all cores
  std::uint64_t seed = 0;
  int max_nonfinite_steps = 5;  // consecutive optimizer steps with a NaN/inf loss before the run stops; 0: never

  // --num_workers takes 'auto' and has its own option in the app.
  static constexpr auto fields() {
    return std::tuple{
        field{&fit_config::epochs, "epochs", flag{"--epochs", "training epochs", 0}},
        field{&fit_config::batch_size, "batch_size", flag{"--batch_size", "images per micro-batch", 1}},
        field{&fit_config::num_workers, "num_workers"},
        field{&fit_config::prefetch_batches, "prefetch_batches",
              flag{"--prefetch_batches", "batches queued ahead of training", 1}},
        field{&fit_config::memory_budget_mb, "memory_budget_mb",
              flag{"--memory_budget_mb", "cap on all bytes the data pipeline holds", 16, 1 << 20}},
        field{&fit_config::cache_mb, "cache_mb", flag{"--cache_mb", "decoded-image cache, pre-scaled (0 = off)", 0}},
        field{&fit_config::threads, "threads", flag{"--threads", "LibTorch intra-op threads (0 = all cores)", 0}},
        field{&fit_config::seed, "seed", flag{"--seed", "seed for initialisation, order and augmentation"}},
        field{&fit_config::max_nonfinite_steps, "max_nonfinite_steps",
              flag{"--max_nonfinite_steps",
                   "consecutive optimizer steps with a NaN or inf loss (each skipped) before the run stops (0: never)", 0}},
    };
  }
};

template <fit_config C = fit_config{}>
struct fit {
  static_assert(C.epochs >= 0, "mt::fit: epochs must not be negative.");
  static_assert(C.batch_size >= 1, "mt::fit: batch_size must be at least 1.");
  static_assert(C.num_workers >= 0, "mt::fit: num_workers must not be negative (0 means auto).");
  static_assert(C.prefetch_batches >= 1, "mt::fit: prefetch_batches must be at least 1.");
  static_assert(C.memory_budget_mb >= 16, "mt::fit: memory_budget_mb must be at least 16.");
  static_assert(C.cache_mb >= 0, "mt::fit: cache_mb must not be negative.");
  static_assert(C.max_nonfinite_steps >= 0, "mt::fit: max_nonfinite_steps must not be negative (0 means never stop).");
  static constexpr fit_config config = C;
  using is_fit = void;
};

// A policy present only under a compile-time condition, typically an axis of
// a variant build (cmake/MixtrainVariants.cmake): `mt::when<v::amp == "bf16",
// mt::policy::amp<mt::bf16>>`. When false the recipe drops it from the type
// list, so the trainer never instantiates it (no flags, hooks or state);
// naming P as a template argument does not instantiate it either.
struct absent_policy {
  using is_absent_policy = void;
};
template <bool On, class P>
using when = std::conditional_t<On, P, absent_policy>;
template <bool On, class P>
using policy_if = when<On, P>;

// An integer axis value ("4") for configs: `accumulate<{.steps = mt::axis_int(v::accumulate)}>`.
consteval int axis_int(std::string_view text) {
  int value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') throw "axis_int: the axis value is not a non-negative integer";
    value = value * 10 + (c - '0');
  }
  return value;
}

namespace detail {

template <class T>
concept absent = requires { typename T::is_absent_policy; };

template <class T>
concept fit_block = requires { typename T::is_fit; };

template <class T>
concept exclusive_policy = requires {
  { T::exclusive } -> std::convertible_to<std::string_view>;
};

template <class T>
struct check_extra {
  static constexpr bool ok = policy_spec<T> || fit_block<T> || absent<T>;
  static_assert(ok, "every recipe argument after the optimizer must be a policy (a default-constructible, non-final "
                    "class with `static constexpr std::string_view name`), an mt::when<cond, policy> or an "
                    "mt::fit<{...}> block; the argument "
                    "is named in this instantiation.");
};

// Exclusivity is declared by the policy itself: `static constexpr
// std::string_view exclusive = "lr_schedule";` allows one policy per group.
template <class A, class B>
struct check_exclusive {
  static constexpr bool ok = !(exclusive_policy<A> && exclusive_policy<B>) || [] {
    if constexpr (exclusive_policy<A> && exclusive_policy<B>) return std::string_view(A::exclusive) != B::exclusive;
    else return true;
  }();
  static_assert(ok, "two policies of one exclusive group in a recipe (both named in this instantiation): keep one "
                    "(two AMP policies, two learning-rate schedules, ...).");
};

// Checkpoint states are stored under policy_<name>.
template <class A, class B>
struct check_distinct_names {
  static constexpr bool ok = std::string_view(A::name) != std::string_view(B::name);
  static_assert(ok, "two policies with the same name in a recipe (both named in this instantiation): their "
                    "checkpoint states would collide; give one another `name`.");
};

template <class... Ps>
struct pairwise {
  using list = std::tuple<Ps...>;
  template <std::size_t I, std::size_t... J>
  static constexpr bool row(std::index_sequence<J...>) {
    return ((check_exclusive<std::tuple_element_t<I, list>, std::tuple_element_t<I + 1 + J, list>>::ok &&
             check_distinct_names<std::tuple_element_t<I, list>, std::tuple_element_t<I + 1 + J, list>>::ok) &&
            ...);
  }
  template <std::size_t... I>
  static constexpr bool all(std::index_sequence<I...>) {
    return (row<I>(std::make_index_sequence<sizeof...(Ps) - 1 - I>{}) && ...);
  }
  static constexpr bool ok = all(std::index_sequence_for<Ps...>{});
};
template <>
struct pairwise<> {
  static constexpr bool ok = true;
};

template <class... Ts>
struct first_or {
  template <class Default>
  using type = Default;
};
template <class T, class... Ts>
struct first_or<T, Ts...> {
  template <class Default>
  using type = T;
};

template <class... Ts>
constexpr auto policies_of() {
  return hana::filter(hana::tuple_t<Ts...>, [](auto t) { return hana::bool_c<policy_spec<typename decltype(t)::type>>; });
}
template <class... Ts>
constexpr auto fits_of() {
  return hana::filter(hana::tuple_t<Ts...>, [](auto t) { return hana::bool_c<fit_block<typename decltype(t)::type>>; });
}

template <class TypeTuple>
using tuple_of = typename decltype(hana::unpack(TypeTuple{}, hana::template_<hana::tuple>))::type;

template <class TypeTuple>
struct policy_pairs;
template <class... Ps>
struct policy_pairs<hana::tuple<Ps...>> : pairwise<Ps...> {};

}  // namespace detail

template <class Model, class Data, class Task, class Optimizer, class... Extras>
struct recipe {
  static_assert(check_model<Model>::ok, "The first recipe argument must be a model spec.");
  static_assert(check_data_source<Data>::ok, "The second recipe argument must be a data source.");
  static_assert(check_task<Task, Data>::ok, "The third recipe argument must be a task for the data source.");
  static_assert(check_optimizer<Optimizer>::ok, "The fourth recipe argument must be an optimizer spec.");
  static_assert((detail::check_extra<Extras>::ok && ...));
  static_assert(decltype(hana::length(detail::fits_of<Extras...>()))::value <= 1, "Two mt::fit<...> blocks in one recipe.");

  using model = Model;
  using data = Data;
  using task = Task;
  using optimizer = Optimizer;
  // hana::tuple of the policies' types, in recipe order; empty when none.
  using policies = detail::tuple_of<decltype(detail::policies_of<Extras...>())>;
  static_assert(detail::policy_pairs<policies>::ok);
  static constexpr fit_config fit_defaults = decltype(hana::unpack(detail::fits_of<Extras...>(), [](auto... t) {
    return hana::type_c<typename detail::first_or<typename decltype(t)::type...>::template type<fit<>>>;
  }))::type::config;
};

}  // namespace mixtrain
