// libFuzzer target: the machine mappings CSV parser (aariz_reader.hpp) on
// arbitrary bytes. Only a data_error naming the file may escape; a parsed
// pixel size is always finite and positive. Built and run by scripts/fuzz.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <mixtrain/data/aariz_reader.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    for (const auto& [id, pixel_size] : mixtrain::data::detail::parse_pixel_sizes(text, "fuzz.csv"))
      if (id.empty() || !std::isfinite(pixel_size) || !(pixel_size > 0)) std::abort();
  } catch (const mixtrain::data::data_error& e) {
    if (std::string_view(e.what()).substr(0, 8) != "fuzz.csv") std::abort();  // the message names the file
  }
  return 0;
}
