#pragma once
// Flags a user may know from the seed script that belong to a library policy
// the recipe may not hold. The table is generated from the library policies'
// own field lists (config_type::fields(), core/fields.hpp), so a flag added
// to a policy's config appears here without a second edit. A flag that no
// compiled-in policy registered is still accepted by the parser, and then
// fails with the policy to add.
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <boost/hana.hpp>
#include <fmt/core.h>

#include <mixtrain/core/fields.hpp>
#include <mixtrain/policy/accumulate.hpp>
#include <mixtrain/policy/amp.hpp>
#include <mixtrain/policy/channels_last.hpp>
#include <mixtrain/policy/checkpoint.hpp>
#include <mixtrain/policy/distributed_config.hpp>
#include <mixtrain/policy/early_stopping.hpp>
#include <mixtrain/policy/ema.hpp>
#include <mixtrain/policy/grad_clip.hpp>
#include <mixtrain/policy/lr_schedule.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::app {

// The library policies whose flags a recipe without them should explain.
inline constexpr auto library_policies =
    boost::hana::tuple_t<policy::ema<>, policy::accumulate<>, policy::early_stopping<>, policy::checkpoint<>,
                         policy::warmup_cosine<>, policy::step_decay<>, policy::reduce_on_plateau<>,
                         policy::grad_clip<>, policy::channels_last, policy::amp<bf16>, policy::distributed_flags>;

// --multi_gpu's answer where it cannot run: no GPU to map ranks to, or a
// recipe without mt::policy::distributed, which runs the ranks (one per
// local GPU over NCCL; a build without NCCL is refused by the policy).
MIXTRAIN_COLD std::string multi_gpu_refusal(bool cuda_visible, bool recipe_has_distributed_policy);

// One flag and the recipe entries that would register it ("A or B").
struct policy_flag {
  std::string flag;
  std::string needs;
};

namespace policy_flags_detail {

// How a recipe spells the policy: mt::policy::X, mt::policy::X<{...}> for
// a policy with a compiled config, mt::policy::amp<mt::bf16> for a tagged one.
template <class P>
struct spelling {
  static std::string base() { return "mt::policy::" + std::string(P::name); }
  static std::string with(std::string_view) { return base(); }
};
template <template <auto> class T, auto C>
struct spelling<T<C>> {
  static std::string base() { return "mt::policy::" + std::string(T<C>::name); }
  static std::string with(std::string_view setting) {
    return base() + (setting.empty() ? std::string("<>") : fmt::format("<{{{}}}>", setting));
  }
};
template <template <class, auto> class T, class Tag, auto C>
struct spelling<T<Tag, C>> {
  static std::string base() { return "mt::policy::" + std::string(T<Tag, C>::name) + "<mt::" + std::string(Tag::name) + ">"; }
  static std::string with(std::string_view) { return base(); }
};

// channels_last is the alias of channels_last_layout<>, spelled without <>.
template <>
struct spelling<policy::channels_last> {
  static std::string base() { return "mt::policy::channels_last"; }
  static std::string with(std::string_view) { return base(); }
};

// ".steps = 4" for a numeric field (its default; "..." where that is 0,
// which usually means off), "" otherwise.
template <class Value>
std::string example_setting(std::string_view field_name, const Value& value) {
  if constexpr (std::is_arithmetic_v<Value> && !std::is_same_v<Value, bool>)
    return value == Value{} ? fmt::format(".{} = ...", field_name) : fmt::format(".{} = {}", field_name, value);
  else
    return "";
}

MIXTRAIN_COLD void add(std::vector<policy_flag>& table, std::string_view flag, const std::string& needs);

template <class P>
void add_policy(std::vector<policy_flag>& table) {
  using config = typename P::config_type;
  const config defaults{};
  // A switch (bool) flag is shown with the policy's first numeric setting.
  std::string first_setting;
  std::apply([&](const auto&... f) {
    ((first_setting.empty() && f.option ? (void)(first_setting = example_setting(f.name, defaults.*(f.member))) : void()), ...);
  }, config::fields());
  std::apply(
      [&](const auto&... f) {
        auto one = [&](const auto& fd) {
          if (!fd.option) return;
          auto setting = example_setting(fd.name, defaults.*(fd.member));
          add(table, fd.option->name, spelling<P>::with(setting.empty() ? first_setting : setting));
        };
        (one(f), ...);
      },
      config::fields());
  // amp registers its own --mixed_precision (it takes the precision's name).
  if constexpr (requires { typename P::precision; })
    add(table, "--mixed_precision", spelling<P>::base() + " (or mt::policy::amp<mt::fp16>)");
}

}  // namespace policy_flags_detail

// Every flag of every library policy, in the order above.
inline const std::vector<policy_flag>& policy_flags() {
  static const std::vector<policy_flag> table = [] {
    std::vector<policy_flag> out;
    boost::hana::for_each(library_policies, [&](auto t) {
      policy_flags_detail::add_policy<typename decltype(t)::type>(out);
    });
    return out;
  }();
  return table;
}

}  // namespace mixtrain::app

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/app/impl/policy_flags.ipp>
#endif
