#pragma once
// A recipe is a flat type list: model, data source, loss, optimizer, then any
// number of policies plus, optionally, one heatmap decoder and one mt::fit<>
// block of run defaults. It is checked here, at compile time, with sentences.
#include <concepts>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include <boost/hana.hpp>

#include <mixtrain/heatmap/decode.hpp>
#include <mixtrain/heatmap/decoder_spec.hpp>
#include <mixtrain/loss/loss_spec.hpp>
#include <mixtrain/model/model_spec.hpp>

namespace mixtrain {

namespace hana = boost::hana;

// Exclusive kinds: a recipe holds at most one policy of each.
enum class policy_kind { amp, ema, channels_last, accumulate, early_stopping, lr_schedule, grad_clip, checkpoint, other };

// (Named policy_spec because mixtrain::policy is the namespace of the policies.)
template <class P>
concept policy_spec = requires {
  { P::kind } -> std::convertible_to<policy_kind>;
  { P::name } -> std::convertible_to<std::string_view>;
} && std::default_initializable<P>;

template <class D>
concept data_spec = requires { typename D::is_data_spec; };

template <class O>
concept optimizer_spec = requires { typename O::is_optimizer_spec; };

// Run defaults compiled into the recipe; each has a command-line flag.
struct fit_config {
  int epochs = 30;
  int batch_size = 8;
  int num_workers = 2;       // 0 = measure and pick ("auto")
  int prefetch_batches = 2;
  int memory_budget_mb = 2048;
  int cache_mb = 0;
  int threads = 0;           // LibTorch intra-op threads; 0 = all cores
  std::uint64_t seed = 0;
};

template <fit_config C = fit_config{}>
struct fit {
  static_assert(C.epochs >= 0, "mt::fit: epochs must not be negative.");
  static_assert(C.batch_size >= 1, "mt::fit: batch_size must be at least 1.");
  static_assert(C.num_workers >= 0, "mt::fit: num_workers must not be negative (0 means auto).");
  static_assert(C.prefetch_batches >= 1, "mt::fit: prefetch_batches must be at least 1.");
  static_assert(C.memory_budget_mb >= 16, "mt::fit: memory_budget_mb must be at least 16.");
  static_assert(C.cache_mb >= 0, "mt::fit: cache_mb must not be negative.");
  static constexpr fit_config config = C;
  using is_fit = void;
};

namespace detail {

template <class T>
concept fit_block = requires { typename T::is_fit; };

template <class T>
inline constexpr bool is_extra = policy_spec<T> || heatmap::decoder_spec<T> || fit_block<T>;

template <policy_kind K, class... Extras>
constexpr int count_kind() {
  return (0 + ... + [] {
    if constexpr (policy_spec<Extras>) return Extras::kind == K ? 1 : 0;
    else return 0;
  }());
}

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

template <template <class> class Pred, class... Ts>
constexpr auto filter_types() {
  return hana::filter(hana::tuple_t<Ts...>, [](auto t) {
    return hana::bool_c<Pred<typename decltype(t)::type>::value>;
  });
}

template <class T> struct is_policy_t : std::bool_constant<policy_spec<T>> {};
template <class T> struct is_decoder_t : std::bool_constant<heatmap::decoder_spec<T> && !policy_spec<T>> {};
template <class T> struct is_fit_t : std::bool_constant<fit_block<T>> {};

template <class TypeTuple>
using tuple_of = typename decltype(hana::unpack(TypeTuple{}, hana::template_<hana::tuple>))::type;

}  // namespace detail

template <class Model, class Data, class Loss, class Optimizer, class... Extras>
struct recipe {
  static_assert(model::model_spec<Model>,
                "The first recipe argument must be a model, such as mt::model::hrnet<mt::model::hrnet_w32>.");
  static_assert(data_spec<Data>, "The second recipe argument must be a data source, such as mt::data::aariz<{}>.");
  static_assert(loss::loss_spec<Loss>, "The third recipe argument must be a loss, such as mt::loss::heatmap_mse.");
  static_assert(optimizer_spec<Optimizer>,
                "The fourth recipe argument must be an optimizer, such as mt::optim::adamw<{.lr = 1e-3}>.");
  static_assert((detail::is_extra<Extras> && ...),
                "Every recipe argument after the optimizer must be a policy (mt::policy::...), a heatmap decoder "
                "(mt::heatmap::dark, ...) or an mt::fit<{...}> block.");
  static_assert(detail::count_kind<policy_kind::amp, Extras...>() <= 1,
                "Two AMP policies in one recipe: keep a single mt::policy::amp<...>.");
  static_assert(detail::count_kind<policy_kind::ema, Extras...>() <= 1, "Two EMA policies in one recipe.");
  static_assert(detail::count_kind<policy_kind::channels_last, Extras...>() <= 1,
                "mt::policy::channels_last appears twice in the recipe.");
  static_assert(detail::count_kind<policy_kind::accumulate, Extras...>() <= 1,
                "Two gradient accumulation policies in one recipe.");
  static_assert(detail::count_kind<policy_kind::early_stopping, Extras...>() <= 1,
                "Two early-stopping policies in one recipe.");
  static_assert(detail::count_kind<policy_kind::lr_schedule, Extras...>() <= 1,
                "Two learning-rate schedules in one recipe: they would both set the learning rate.");
  static_assert(detail::count_kind<policy_kind::grad_clip, Extras...>() <= 1, "Two gradient clipping policies in one recipe.");
  static_assert(detail::count_kind<policy_kind::checkpoint, Extras...>() <= 1, "Two checkpoint policies in one recipe.");
  static_assert(decltype(hana::length(detail::filter_types<detail::is_decoder_t, Extras...>()))::value <= 1,
                "Two heatmap decoders in one recipe.");
  static_assert(decltype(hana::length(detail::filter_types<detail::is_fit_t, Extras...>()))::value <= 1,
                "Two mt::fit<...> blocks in one recipe.");

  using model = Model;
  using data = Data;
  using loss = Loss;
  using optimizer = Optimizer;
  // hana::tuple of the policies, in recipe order; empty (no bytes) when none.
  using policies = detail::tuple_of<decltype(detail::filter_types<detail::is_policy_t, Extras...>())>;
  using decoder = typename decltype(hana::unpack(detail::filter_types<detail::is_decoder_t, Extras...>(), [](auto... t) {
    return hana::type_c<typename detail::first_or<typename decltype(t)::type...>::template type<heatmap::dark>>;
  }))::type;
  static constexpr fit_config fit_defaults =
      decltype(hana::unpack(detail::filter_types<detail::is_fit_t, Extras...>(), [](auto... t) {
        return hana::type_c<typename detail::first_or<typename decltype(t)::type...>::template type<fit<>>>;
      }))::type::config;

  template <policy_kind K>
  static constexpr bool has = detail::count_kind<K, Extras...>() > 0;
};

}  // namespace mixtrain
