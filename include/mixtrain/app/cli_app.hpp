#pragma once
// The parts of CLI11 that a recipe need not compile itself. CLI11 2.1 is
// header-only with every function inline: a translation unit that constructs
// a CLI::App also emits its help formatter and TOML config reader (their
// virtual functions), and one that parses emits the whole parser, about a
// third of a recipe's machine code. Built and parsed here, they are compiled
// once, in mixtrain_cold (core/separate_compilation.hpp); the recipe still
// registers its flags through CLI::App's own API.
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::app {

// A top-level command line with this help text and program name.
MIXTRAIN_COLD std::unique_ptr<CLI::App> make_cli_app(const std::string& description, const std::string& name);

// A subcommand of `parent` (owned by it), as CLI::App::add_subcommand.
MIXTRAIN_COLD CLI::App* add_cli_subcommand(CLI::App& parent, const std::string& name, const std::string& description);

// Parses argv into the bound values. Empty when the command should run;
// otherwise the exit status after CLI11 printed the help, version or error.
MIXTRAIN_COLD std::optional<int> parse_cli(CLI::App& app, int argc, char** argv);

}  // namespace mixtrain::app

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/app/impl/cli_app.ipp>
#endif
