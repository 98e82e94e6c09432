#pragma once
// Configs described once. A config (or a policy's state) lists its members in
// one place, `static constexpr auto fields()`, and that list generates its
// describe() JSON, its command-line flags and its checkpoint state:
//
//   struct early_stopping_config {
//     int patience = 20;
//     ...
//     static constexpr auto fields() {
//       return std::tuple{mt::field{&early_stopping_config::patience, "patience",
//                                   mt::flag{"--patience", "epochs without improvement", 1}}, ...};
//     }
//   };
//
// A field without a flag is described and saved but not settable at run time.
#include <array>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/flag_set.hpp>

namespace mixtrain {

// A command-line flag for one field; `minimum` is checked with a plain message.
struct flag {
  std::string_view name;
  std::string_view help;
  double minimum = -std::numeric_limits<double>::infinity();
  double maximum = std::numeric_limits<double>::infinity();
};

template <class Owner, class Member>
struct field {
  Member Owner::* member;
  std::string_view name;
  std::optional<flag> option = std::nullopt;
};
template <class Owner, class Member>
field(Member Owner::*, std::string_view) -> field<Owner, Member>;
template <class Owner, class Member>
field(Member Owner::*, std::string_view, flag) -> field<Owner, Member>;

template <class T>
concept described = requires { T::fields(); };

namespace fields_detail {

template <class T>
inline constexpr bool is_char_array = std::is_array_v<T> && std::is_same_v<std::remove_extent_t<T>, char>;

// An enum describes itself through `describe_value(e)` found by ADL, if any.
template <class M>
nlohmann::json to_json(const M& value) {
  if constexpr (requires { describe_value(value); }) return describe_value(value);
  else if constexpr (is_char_array<M>) return std::string(value);
  else if constexpr (std::is_enum_v<M>) return static_cast<std::int64_t>(value);
  else if constexpr (described<M>) {
    nlohmann::json j = nlohmann::json::object();
    std::apply([&](const auto&... f) { ((j[std::string(f.name)] = to_json(value.*(f.member))), ...); }, M::fields());
    return j;
  } else return value;
}

// Scalars travel as IValues; strings, arrays and nested structs as JSON text.
template <class M>
void save(torch::serialize::OutputArchive& archive, const std::string& key, const M& value) {
  if constexpr (std::is_same_v<M, bool>) archive.write(key, c10::IValue(value));
  else if constexpr (std::is_integral_v<M> || std::is_enum_v<M>) archive.write(key, c10::IValue(static_cast<std::int64_t>(value)));
  else if constexpr (std::is_floating_point_v<M>) archive.write(key, c10::IValue(static_cast<double>(value)));
  else archive.write(key, c10::IValue(to_json(value).dump()));
}

template <class M>
void load(torch::serialize::InputArchive& archive, const std::string& key, M& value) {
  c10::IValue v;
  archive.read(key, v);
  if constexpr (std::is_same_v<M, bool>) value = v.toBool();
  else if constexpr (std::is_integral_v<M> || std::is_enum_v<M>) value = static_cast<M>(v.toInt());
  else if constexpr (std::is_floating_point_v<M>) value = static_cast<M>(v.toDouble());
  else value = nlohmann::json::parse(v.toStringRef()).get<M>();
}

}  // namespace fields_detail

// {"name": value, ...} for every field.
template <described T>
nlohmann::json describe_fields(const T& value) {
  return fields_detail::to_json(value);
}

// One CLI option per field that has a flag; bools become flags that also
// take =true/=false.
template <described T>
void add_field_flags(flag_set cli, T& value) {
  std::apply(
      [&](const auto&... f) {
        auto one = [&](const auto& fd) {
          if (!fd.option) return;
          auto& member = value.*(fd.member);
          using M = std::remove_cvref_t<decltype(member)>;
          const std::string name(fd.option->name), help(fd.option->help);
          if constexpr (std::is_same_v<M, bool>) {
            cli.add_flag(name, member, help);
          } else if constexpr (std::is_arithmetic_v<M>) {
            auto option = cli.add_option(name, member, help);
            if (fd.option->minimum > -std::numeric_limits<double>::infinity() ||
                fd.option->maximum < std::numeric_limits<double>::infinity())
              option.check(within(fd.option->minimum, fd.option->maximum));
          } else if constexpr (std::is_same_v<M, std::string> || std::is_same_v<M, std::filesystem::path>) {
            cli.add_option(name, member, help);
          } else {
            throw std::logic_error("field '" + std::string(fd.name) + "' has a flag, but its type cannot be set from the command line");
          }
        };
        (one(f), ...);
      },
      T::fields());
}

// The flag names a config registers (for "this flag needs policy X" messages).
template <described T>
auto field_flag_names() {
  std::vector<std::string_view> names;
  std::apply([&](const auto&... f) { ((f.option ? names.push_back(f.option->name) : void()), ...); }, T::fields());
  return names;
}

template <described T>
void save_fields(torch::serialize::OutputArchive& archive, const T& value) {
  std::apply([&](const auto&... f) { (fields_detail::save(archive, std::string(f.name), value.*(f.member)), ...); },
             T::fields());
}

template <described T>
void load_fields(torch::serialize::InputArchive& archive, T& value) {
  std::apply([&](const auto&... f) { (fields_detail::load(archive, std::string(f.name), value.*(f.member)), ...); },
             T::fields());
}

}  // namespace mixtrain
