#pragma once
// The recipe executable's CLI::App, built, parsed and destroyed in cold code.
// CLI11 2.1 is header-only with every function inline: a translation unit
// that constructs a CLI::App also emits its help formatter and TOML config
// reader (their virtual functions), and one that parses emits the whole
// parser. Here they are compiled once, in mixtrain_cold
// (core/separate_compilation.hpp); the recipe registers its flags through
// flag_set (core/flag_set.hpp) and never includes CLI11.
#include <exception>
#include <optional>
#include <string>

#include <mixtrain/core/flag_set.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::app {

class program_command_line {
 public:
  // A top-level command line with this help text and program name; options
  // show their compiled defaults in --help.
  MIXTRAIN_COLD program_command_line(const std::string& description, const std::string& name);
  MIXTRAIN_COLD ~program_command_line();
  program_command_line(const program_command_line&) = delete;
  program_command_line& operator=(const program_command_line&) = delete;

  [[nodiscard]] flag_set flags() const { return flag_set(*app_); }

  // Parses argv into the bound values. Empty when the command should run;
  // otherwise the exit status after CLI11 printed the help, version or error.
  MIXTRAIN_COLD std::optional<int> parse(int argc, char** argv);

 private:
  CLI::App* app_;  // owned (CLI::App is incomplete outside cold code)
};

// Whether `e` is one of CLI11's errors (CLI::Error), thrown outside parsing.
MIXTRAIN_COLD bool is_cli11_error(const std::exception& e);

}  // namespace mixtrain::app

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/app/impl/cli_app.ipp>
#endif
