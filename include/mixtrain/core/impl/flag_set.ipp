#pragma once
// Definitions of the functions declared in <mixtrain/core/flag_set.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
// Only these see CLI11.
#include <mixtrain/core/flag_set.hpp>

#include <limits>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

namespace mixtrain {

namespace flag_set_detail {

// CLI11's own validators keep their messages ("Value x not in {a,b}").
inline flag_check from_validator(CLI::Validator v) {
  std::string description = v.get_description();
  return {[v](const std::string& value) mutable {
            std::string copy = value;
            return v(copy);
          },
          std::move(description)};
}

// "must be at least / at most" with the bounds as written, where CLI11's range
// checks would print the type's whole range.
inline flag_check bounded(double low, double high, std::string description) {
  return {[low, high](const std::string& value) -> std::string {
            try {
              const double v = std::stod(value);
              // written so that NaN fails both
              if (!(v >= low)) return fmt::format("must be at least {}, got {}", low, value);
              if (!(v <= high)) return fmt::format("must be at most {}, got {}", high, value);
              return "";
            } catch (...) {
              return "must be a number, got '" + value + "'";
            }
          },
          std::move(description)};
}

}  // namespace flag_set_detail

MIXTRAIN_COLD flag_check positive_number() { return flag_set_detail::from_validator(CLI::PositiveNumber); }
MIXTRAIN_COLD flag_check non_negative_number() { return flag_set_detail::from_validator(CLI::NonNegativeNumber); }
MIXTRAIN_COLD flag_check at_least(double minimum) {
  return flag_set_detail::bounded(minimum, std::numeric_limits<double>::infinity(), fmt::format(">= {}", minimum));
}
MIXTRAIN_COLD flag_check within(double low, double high) {
  return flag_set_detail::bounded(low, high, fmt::format("[{}, {}]", low, high));
}
MIXTRAIN_COLD flag_check one_of(std::vector<std::string> values) {
  return flag_set_detail::from_validator(CLI::IsMember(std::move(values)));
}
MIXTRAIN_COLD flag_check existing_file() { return flag_set_detail::from_validator(CLI::ExistingFile); }
MIXTRAIN_COLD flag_check existing_path() { return flag_set_detail::from_validator(CLI::ExistingPath); }

MIXTRAIN_COLD flag_option& flag_option::check(flag_check c) {
  option_->check(CLI::Validator([test = std::move(c.test)](std::string& value) { return test(value); }, c.description));
  return *this;
}
MIXTRAIN_COLD flag_option& flag_option::check(std::function<std::string(const std::string&)> test, std::string description) {
  return check(flag_check{std::move(test), std::move(description)});
}
MIXTRAIN_COLD flag_option& flag_option::each(std::function<void(const std::string&)> f) {
  option_->each([f = std::move(f)](const std::string& value) { f(value); });
  return *this;
}
MIXTRAIN_COLD flag_option& flag_option::expected(int count) {
  option_->expected(count);
  return *this;
}
MIXTRAIN_COLD flag_option& flag_option::expected(int minimum, int maximum) {
  option_->expected(minimum, maximum);
  return *this;
}
MIXTRAIN_COLD flag_option& flag_option::default_str(const std::string& text) {
  option_->default_str(text);
  return *this;
}
MIXTRAIN_COLD flag_option& flag_option::group(const std::string& name) {
  option_->group(name);
  return *this;
}
MIXTRAIN_COLD flag_option& flag_option::required() {
  option_->required();
  return *this;
}
MIXTRAIN_COLD flag_option& flag_option::excludes(const std::string& other_flag) {
  option_->excludes(other_flag);
  return *this;
}
MIXTRAIN_COLD flag_option& flag_option::take_last() {
  option_->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  return *this;
}
MIXTRAIN_COLD std::size_t flag_option::count() const { return option_->count(); }

MIXTRAIN_COLD flag_option flag_set::add_flag(const std::string& name, bool& value, const std::string& help) {
  return flag_option(app_->add_flag(name, value, help));
}
MIXTRAIN_COLD flag_option flag_set::add_flag(const std::string& name, std::string& value, const std::string& help) {
  return flag_option(app_->add_flag(name, value, help));
}

#define MIXTRAIN_FLAG_SET_ADD_OPTION(type)                                                                     \
  MIXTRAIN_COLD flag_option flag_set::add_option(const std::string& name, type& value, const std::string& help) { \
    return flag_option(app_->add_option(name, value, help));                                                   \
  }
MIXTRAIN_FLAG_SET_ADD_OPTION(bool)
MIXTRAIN_FLAG_SET_ADD_OPTION(int)
MIXTRAIN_FLAG_SET_ADD_OPTION(long)
MIXTRAIN_FLAG_SET_ADD_OPTION(long long)
MIXTRAIN_FLAG_SET_ADD_OPTION(unsigned)
MIXTRAIN_FLAG_SET_ADD_OPTION(unsigned long)
MIXTRAIN_FLAG_SET_ADD_OPTION(unsigned long long)
MIXTRAIN_FLAG_SET_ADD_OPTION(float)
MIXTRAIN_FLAG_SET_ADD_OPTION(double)
MIXTRAIN_FLAG_SET_ADD_OPTION(std::string)
MIXTRAIN_FLAG_SET_ADD_OPTION(std::filesystem::path)
MIXTRAIN_FLAG_SET_ADD_OPTION(std::vector<std::filesystem::path>)
#undef MIXTRAIN_FLAG_SET_ADD_OPTION

#define MIXTRAIN_FLAG_SET_ADD_FUNCTION(type, argument)                                                          \
  MIXTRAIN_COLD flag_option flag_set::add_option_function(const std::string& name, std::function<void(argument)> f, \
                                                          const std::string& help) {                           \
    return flag_option(app_->add_option_function<type>(name, std::move(f), help));                             \
  }
MIXTRAIN_FLAG_SET_ADD_FUNCTION(std::string, const std::string&)
MIXTRAIN_FLAG_SET_ADD_FUNCTION(double, double)
MIXTRAIN_FLAG_SET_ADD_FUNCTION(std::vector<int>, const std::vector<int>&)
MIXTRAIN_FLAG_SET_ADD_FUNCTION(std::vector<double>, const std::vector<double>&)
#undef MIXTRAIN_FLAG_SET_ADD_FUNCTION

MIXTRAIN_COLD flag_set flag_set::add_subcommand(const std::string& name, const std::string& description) {
  return flag_set(*app_->add_subcommand(name, description));
}
MIXTRAIN_COLD void flag_set::fallthrough() { app_->fallthrough(); }
MIXTRAIN_COLD void flag_set::require_subcommand(int minimum, int maximum) {
  app_->require_subcommand(minimum, maximum);
}
MIXTRAIN_COLD bool flag_set::has_option(const std::string& name) const {
  return app_->get_option_no_throw(name) != nullptr;
}
MIXTRAIN_COLD bool flag_set::given(const std::string& name) const {
  const auto* option = app_->get_option_no_throw(name);
  return option != nullptr && option->count() > 0;
}
MIXTRAIN_COLD bool flag_set::parsed() const { return app_ != nullptr && app_->parsed(); }

}  // namespace mixtrain
