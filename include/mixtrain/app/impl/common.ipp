#pragma once
// Definitions of the functions declared in <mixtrain/app/common.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/app/common.hpp>

namespace mixtrain::app {

MIXTRAIN_COLD std::string executable_name(const char* argv0) {
  return argv0 ? std::filesystem::path(argv0).filename().string() : std::string("recipe");
}

MIXTRAIN_COLD data::landmark_set numbered_landmarks(int count) {
  data::landmark_set set;
  for (int i = 1; i <= count; ++i) {
    set.symbols.push_back("L" + std::to_string(i));
    set.titles.push_back("landmark " + std::to_string(i));
  }
  return set;
}

MIXTRAIN_COLD data::landmark_set aariz_landmarks() {
  data::landmark_set set;
  for (const auto& t : data::synthetic::aariz_landmarks) {
    set.symbols.emplace_back(t.symbol);
    set.titles.emplace_back(t.title);
  }
  return set;
}

}  // namespace mixtrain::app
