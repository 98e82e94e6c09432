#pragma once
// What several data tests write: raw bytes into a file, and the Aariz
// annotator folder names as the dataset spells them (spelled here, not taken
// from the reader, so a reader that misspells them fails).
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <ios>
#include <string>
#include <vector>

namespace mixtrain::testing {

inline void write_bytes(const std::filesystem::path& file, const std::vector<std::uint8_t>& bytes) {
  std::ofstream(file, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline const std::string senior = "Senior Orthodontists";
inline const std::string junior = "Junior Orthodontists";

}  // namespace mixtrain::testing
