#pragma once
// Definitions of the functions declared in <mixtrain/data/tiff_header.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/data/tiff_header.hpp>

namespace mixtrain::data {

MIXTRAIN_COLD bool is_tiff(const std::vector<std::uint8_t>& b) {
  return b.size() >= 4 && ((b[0] == 'I' && b[1] == 'I' && b[2] == 42 && b[3] == 0) ||
                           (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && b[3] == 42));
}

MIXTRAIN_COLD tiff_directory parse_tiff_directory(const std::vector<std::uint8_t>& b) {
  tiff_directory d;
  if (!is_tiff(b) || b.size() < 8) return d;
  const bool little = b[0] == 'I';
  auto read = [&](std::uint64_t at, int n) -> std::optional<std::uint32_t> {
    if (at + static_cast<std::uint64_t>(n) > b.size()) return std::nullopt;
    std::uint32_t v = 0;
    for (int k = 0; k < n; ++k) {
      const std::uint32_t byte = b[static_cast<std::size_t>(at) + static_cast<std::size_t>(little ? n - 1 - k : k)];
      v = (v << 8) | byte;
    }
    return v;
  };
  const std::uint64_t ifd = *read(4, 4);
  const auto count = read(ifd, 2);
  if (!count || ifd + 2 + 12 * std::uint64_t{*count} > b.size()) return d;
  d.complete = true;
  // Value `index` of an entry: inline when the values fit in 4 bytes, else at the offset stored there.
  struct entry {
    std::uint64_t at;
    int type;
    std::uint32_t count;
  };
  auto value = [&](const entry& e, std::uint32_t index) -> std::optional<std::uint32_t> {
    const int width = e.type == 3 ? 2 : e.type == 4 ? 4 : e.type == 1 ? 1 : 0;  // SHORT, LONG, BYTE
    if (width == 0 || index >= e.count) return std::nullopt;
    std::uint64_t base = e.at + 8;
    if (std::uint64_t{e.count} * static_cast<std::uint64_t>(width) > 4) {
      const auto offset = read(base, 4);
      if (!offset) return std::nullopt;
      base = *offset;
    }
    return read(base + std::uint64_t{index} * static_cast<std::uint64_t>(width), width);
  };
  std::optional<entry> offsets, byte_counts;
  for (std::uint32_t i = 0; i < *count; ++i) {
    const entry e{ifd + 2 + 12 * std::uint64_t{i}, static_cast<int>(*read(ifd + 4 + 12 * std::uint64_t{i}, 2)),
                  *read(ifd + 6 + 12 * std::uint64_t{i}, 4)};
    const auto first = [&] { return static_cast<int>(value(e, 0).value_or(0)); };
    switch (*read(e.at, 2)) {
      case 256: d.size.width = first(); break;
      case 257: d.size.height = first(); break;
      case 258: d.bits = first(); break;
      case 259: d.compression = first(); break;
      case 277: d.channels = first(); break;
      case 339: d.sample_format = first(); break;
      case 273: case 324: offsets = e; break;       // StripOffsets, TileOffsets
      case 279: case 325: byte_counts = e; break;   // StripByteCounts, TileByteCounts
      default: break;
    }
  }
  if (d.bits == 0) d.bits = 1;  // the TIFF default
  if (offsets && byte_counts) {
    const std::uint32_t n = std::min(offsets->count, byte_counts->count);
    for (std::uint32_t i = 0; i < n; ++i) {
      const auto offset = value(*offsets, i), length = value(*byte_counts, i);
      if (!offset || !length) {  // the arrays themselves lie beyond the bytes given
        d.data_end = std::max<std::uint64_t>(d.data_end, b.size() + 1);
        break;
      }
      d.data_end = std::max<std::uint64_t>(d.data_end, std::uint64_t{*offset} + *length);
    }
  }
  return d;
}

MIXTRAIN_COLD std::string tiff_problem(const tiff_directory& d) {
  if (!d.complete) return "image file is truncated or damaged (TIFF directory missing)";
  if (d.sample_format == 3) return "floating-point TIFF samples are not taken (8 or 16-bit integers)";
  if (d.bits != 8 && d.bits != 16) return "TIFF with " + std::to_string(d.bits) + "-bit samples is not taken (8 or 16 bits)";
  if (d.channels < 1 || d.channels > 4) return "TIFF with " + std::to_string(d.channels) + " samples per pixel is not taken (1 to 4)";
  return "";
}

}  // namespace mixtrain::data
