#pragma once
// Definitions of the functions declared in <mixtrain/app/cli_app.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/app/cli_app.hpp>

#include <CLI/CLI.hpp>

namespace mixtrain::app {

MIXTRAIN_COLD program_command_line::program_command_line(const std::string& description, const std::string& name)
    : app_(new CLI::App(description, name)) {
  app_->option_defaults()->always_capture_default();
}

MIXTRAIN_COLD program_command_line::~program_command_line() { delete app_; }

MIXTRAIN_COLD std::optional<int> program_command_line::parse(int argc, char** argv) {
  try {
    app_->parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app_->exit(e);
  }
  return std::nullopt;
}

MIXTRAIN_COLD bool is_cli11_error(const std::exception& e) { return dynamic_cast<const CLI::Error*>(&e) != nullptr; }

}  // namespace mixtrain::app
