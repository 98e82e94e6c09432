#pragma once
// Definitions of the functions declared in <mixtrain/policy/logging.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/policy/logging.hpp>

namespace mixtrain::policy {

MIXTRAIN_COLD std::string csv_log::rows_up_to(const std::filesystem::path& path, std::int64_t last) {
  std::ifstream in(path);
  std::string kept, line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (in.eof()) break;  // no newline: a torn last line
    if (number > 1) {
      std::int64_t epoch = 0;
      std::istringstream(line) >> epoch;
      if (epoch < 1) throw std::runtime_error(path.string() + ":" + std::to_string(number) + ": not a metrics row");
      if (epoch > last) continue;
    }
    kept += line + "\n";
  }
  return kept;
}

}  // namespace mixtrain::policy
