// libFuzzer target: the landmark and CVM annotation JSON parsers
// (aariz_reader.hpp) on arbitrary bytes. Only a data_error naming the file
// may escape; a parsed file has one finite point per non-empty symbol.
// Built and run by scripts/fuzz.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <mixtrain/data/aariz_reader.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace d = mixtrain::data;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto file = d::detail::parse_landmark_json(text, "fuzz.json");
    const auto n = file.symbols.size();
    if (n == 0 || file.titles.size() != n || file.points.size() != n || file.marked.size() != n) std::abort();
    for (std::size_t k = 0; k < n; ++k)
      if (file.symbols[k].empty() || !std::isfinite(file.points[k].x) || !std::isfinite(file.points[k].y)) std::abort();
  } catch (const d::data_error& e) {
    if (std::string_view(e.what()).substr(0, 9) != "fuzz.json") std::abort();
  }
  try {
    if (d::detail::parse_cvm_json(text, "fuzz.json") < 0) std::abort();
  } catch (const d::data_error& e) {
    if (std::string_view(e.what()).substr(0, 9) != "fuzz.json") std::abort();
  }
  return 0;
}
