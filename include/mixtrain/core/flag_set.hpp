#pragma once
// The command line as the recipe sees it, without CLI11. A recipe, its data
// source, task and policies register flags through `flag_set` and tune them
// through `flag_option`: non-template handles whose functions are compiled
// once, in mixtrain_cold (core/separate_compilation.hpp). CLI11 2.1 is
// header-only and fully inline: a translation unit that merely includes it
// emits its namespace-scope validators, and one that calls add_option<T>
// instantiates the parser's conversions; that was about a quarter of a
// recipe's machine code (docs/benchmarks.md, "Build time of a recipe").
//
//   void add_flags(mt::flag_set cli) {
//     cli.add_option("--patience", config.patience, "epochs without improvement").check(mt::at_least(1));
//   }
//
// A component written against CLI11 itself (`void add_flags(CLI::App&)`)
// still works: a flag_set converts to the CLI::App it wraps; that component's
// translation unit then compiles CLI11 again.
#include <cstddef>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <mixtrain/core/separate_compilation.hpp>

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace mixtrain {

// A bad flag value found after parsing; main prints "error: <flag>: <message>"
// and exits with status 2, as for the parser's own errors.
class flag_error : public std::runtime_error {
 public:
  flag_error(const std::string& flag, const std::string& message) : std::runtime_error(flag + ": " + message) {}
};

// A check of one flag value: an empty string when valid, else what is wrong.
struct flag_check {
  std::function<std::string(const std::string&)> test;
  std::string description;  // shown in --help, e.g. "[1, 10]"
};

MIXTRAIN_COLD flag_check positive_number();
MIXTRAIN_COLD flag_check non_negative_number();
MIXTRAIN_COLD flag_check at_least(double minimum);
MIXTRAIN_COLD flag_check within(double low, double high);  // "must be at least/at most ..."
MIXTRAIN_COLD flag_check one_of(std::vector<std::string> values);
MIXTRAIN_COLD flag_check existing_file();
MIXTRAIN_COLD flag_check existing_path();

// One registered flag (or positional argument); a handle, cheap to copy.
class flag_option {
 public:
  explicit flag_option(CLI::Option* option) : option_(option) {}
  MIXTRAIN_COLD flag_option& check(flag_check c);
  MIXTRAIN_COLD flag_option& check(std::function<std::string(const std::string&)> test, std::string description = "");
  // Called with each value given, after the checks.
  MIXTRAIN_COLD flag_option& each(std::function<void(const std::string&)> f);
  MIXTRAIN_COLD flag_option& expected(int count);
  MIXTRAIN_COLD flag_option& expected(int minimum, int maximum);  // -1: no maximum
  MIXTRAIN_COLD flag_option& default_str(const std::string& text);
  MIXTRAIN_COLD flag_option& group(const std::string& name);
  MIXTRAIN_COLD flag_option& required();
  MIXTRAIN_COLD flag_option& excludes(const std::string& other_flag);
  MIXTRAIN_COLD flag_option& take_last();  // given twice: the last wins
  // How often it was given (0: the compiled default stands).
  [[nodiscard]] MIXTRAIN_COLD std::size_t count() const;
  [[nodiscard]] CLI::Option* cli_option() const { return option_; }

 private:
  CLI::Option* option_;
};

// The flags of one command (the program or a subcommand); a handle to the
// command line being built, cheap to copy. Empty: a subcommand this recipe
// does not have.
class flag_set {
 public:
  flag_set() = default;
  flag_set(CLI::App& app) : app_(&app) {}  // NOLINT: implicit, so add_flags(CLI::App&) callers keep working
  operator CLI::App&() const { return *app_; }  // NOLINT: for components written against CLI11

  // A bool is a switch that also takes =true/=false.
  MIXTRAIN_COLD flag_option add_flag(const std::string& name, bool& value, const std::string& help);
  // "--name{default}": given alone it stores `default`, else its =value.
  MIXTRAIN_COLD flag_option add_flag(const std::string& name, std::string& value, const std::string& help);
  MIXTRAIN_COLD flag_option add_option(const std::string& name, bool& value, const std::string& help);
  MIXTRAIN_COLD flag_option add_option(const std::string& name, int& value, const std::string& help);
  MIXTRAIN_COLD flag_option add_option(const std::string& name, long& value, const std::string& help);
  MIXTRAIN_COLD flag_option add_option(const std::string& name, long long& value, const std::string& help);
  MIXTRAIN_COLD flag_option add_option(const std::string& name, unsigned& value, const std::string& help);
  MIXTRAIN_COLD flag_option add_option(const std::string& name, unsigned long& value, const std::string& help);
  MIXTRAIN_COLD flag_option add_option(const std::string& name, unsigned long long& value, const std::string& help);
  MIXTRAIN_COLD flag_option add_option(const std::string& name, float& value, const std::string& help);
  MIXTRAIN_COLD flag_option add_option(const std::string& name, double& value, const std::string& help);
  MIXTRAIN_COLD flag_option add_option(const std::string& name, std::string& value, const std::string& help);
  MIXTRAIN_COLD flag_option add_option(const std::string& name, std::filesystem::path& value, const std::string& help);
  MIXTRAIN_COLD flag_option add_option(const std::string& name, std::vector<std::filesystem::path>& value, const std::string& help);
  // A flag whose parsed value goes to a function instead of a variable.
  MIXTRAIN_COLD flag_option add_option_function(const std::string& name, std::function<void(const std::string&)> f, const std::string& help);
  MIXTRAIN_COLD flag_option add_option_function(const std::string& name, std::function<void(double)> f, const std::string& help);
  MIXTRAIN_COLD flag_option add_option_function(const std::string& name, std::function<void(const std::vector<int>&)> f, const std::string& help);
  MIXTRAIN_COLD flag_option add_option_function(const std::string& name, std::function<void(const std::vector<double>&)> f, const std::string& help);

  MIXTRAIN_COLD flag_set add_subcommand(const std::string& name, const std::string& description);
  // Flags of the parent are also accepted after this subcommand's name.
  MIXTRAIN_COLD void fallthrough();
  MIXTRAIN_COLD void require_subcommand(int minimum, int maximum);
  [[nodiscard]] MIXTRAIN_COLD bool has_option(const std::string& name) const;
  // Whether the user gave the flag (not its compiled default).
  [[nodiscard]] MIXTRAIN_COLD bool given(const std::string& name) const;
  // Whether this (sub)command was named on the command line; false when empty.
  [[nodiscard]] MIXTRAIN_COLD bool parsed() const;
  [[nodiscard]] explicit operator bool() const { return app_ != nullptr; }
  [[nodiscard]] CLI::App& cli_app() const { return *app_; }

 private:
  CLI::App* app_ = nullptr;
};

}  // namespace mixtrain

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/core/impl/flag_set.ipp>
#endif
