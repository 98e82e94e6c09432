#pragma once
// Definitions of the functions declared in <mixtrain/app/cli_app.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/app/cli_app.hpp>

namespace mixtrain::app {

MIXTRAIN_COLD std::unique_ptr<CLI::App> make_cli_app(const std::string& description, const std::string& name) {
  return std::make_unique<CLI::App>(description, name);
}

MIXTRAIN_COLD CLI::App* add_cli_subcommand(CLI::App& parent, const std::string& name, const std::string& description) {
  return parent.add_subcommand(name, description);
}

MIXTRAIN_COLD std::optional<int> parse_cli(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return std::nullopt;
}

}  // namespace mixtrain::app
