#pragma once
// Image formats: recognising a file by its first bytes, the header fields
// read from it, and the registry through which optional decoders (DICOM, in
// dicom.hpp) join image_file.hpp without it including their libraries. The
// extensions the readers list come from here too.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

#include <mixtrain/data/tiff_header.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::data {

enum class image_format { unknown, png, jpeg, bmp, tiff, dicom };

// DICOM is recognised here whether or not its decoder is registered.
MIXTRAIN_COLD image_format format_of(const std::vector<std::uint8_t>& b);

// What the header says about the pixels: enough to bound decoding memory.
struct image_header {
  image_format format = image_format::unknown;
  cv::Size size;
  int channels = 0;         // 0 when unknown
  int bits = 8;             // per channel
  bool interlaced = false;  // PNG Adam7, or a progressive JPEG
  // The file's own pixel size (DICOM only), never guessed; the source says
  // which tag gave it, or why there is none.
  std::optional<double> pixel_size_mm;
  std::string pixel_size_source;
};

// Decoders other headers add (dicom.hpp), so that this header needs none of
// their libraries. Registered during static initialisation, read-only after.
struct image_codec {
  image_format format = image_format::unknown;
  std::string_view name;        // "DICOM"
  std::string_view extensions;  // ".dcm"
  // Fills `out` from the file's first bytes (or all of them); returns why it cannot, or "".
  std::string (*read_header)(const std::vector<std::uint8_t>& bytes, image_header& out) = nullptr;
  // The 8-bit, one-channel image; throws data_error naming `path`.
  cv::Mat (*decode)(const std::vector<std::uint8_t>& bytes, const std::filesystem::path& path) = nullptr;
};

MIXTRAIN_COLD std::vector<image_codec>& image_codecs();

MIXTRAIN_COLD bool register_image_codec(const image_codec& codec);

inline const image_codec* registered_codec(image_format format) {
  for (const auto& c : image_codecs())
    if (c.format == format) return &c;
  return nullptr;
}

// The extensions the readers list (lowercase), registered decoders' included.
MIXTRAIN_COLD std::vector<std::string> taken_image_extensions();

// "PNG, JPEG, BMP or TIFF (.png, ...)" with the registered decoders.
MIXTRAIN_COLD std::string taken_image_formats();

inline constexpr std::string_view dicom_not_built_in =
    "DICOM files are read only with the DICOM decoder: #include <mixtrain/data/dicom.hpp> and link mixtrain::dicom";

// Why a reader does not take files with this extension (lowercase), or "".
MIXTRAIN_COLD std::string untaken_extension_problem(const std::string& ext, const std::string& shown);


}  // namespace mixtrain::data

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/data/impl/image_format.ipp>
#endif
