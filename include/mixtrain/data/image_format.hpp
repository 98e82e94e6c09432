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

namespace mixtrain::data {

enum class image_format { unknown, png, jpeg, bmp, tiff, dicom };

// DICOM is recognised here whether or not its decoder is registered.
inline image_format format_of(const std::vector<std::uint8_t>& b) {
  if (b.size() >= 8 && b[0] == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') return image_format::png;
  if (b.size() >= 2 && b[0] == 0xFF && b[1] == 0xD8) return image_format::jpeg;
  if (b.size() >= 2 && b[0] == 'B' && b[1] == 'M') return image_format::bmp;
  if (is_tiff(b)) return image_format::tiff;
  if (b.size() >= 132 && std::memcmp(&b[128], "DICM", 4) == 0) return image_format::dicom;
  return image_format::unknown;
}

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

inline std::vector<image_codec>& image_codecs() {
  static std::vector<image_codec> codecs;
  return codecs;
}

inline bool register_image_codec(const image_codec& codec) {
  auto& codecs = image_codecs();
  for (const auto& c : codecs)
    if (c.format == codec.format) return true;
  codecs.push_back(codec);
  return true;
}

inline const image_codec* registered_codec(image_format format) {
  for (const auto& c : image_codecs())
    if (c.format == format) return &c;
  return nullptr;
}

// The extensions the readers list (lowercase), registered decoders' included.
inline std::vector<std::string> taken_image_extensions() {
  std::vector<std::string> ext = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"};
  for (const auto& codec : image_codecs())
    for (std::size_t at = 0; at < codec.extensions.size();) {
      const auto end = std::min(codec.extensions.find(' ', at), codec.extensions.size());
      ext.emplace_back(codec.extensions.substr(at, end - at));
      at = end + 1;
    }
  return ext;
}

// "PNG, JPEG, BMP or TIFF (.png, ...)" with the registered decoders.
inline std::string taken_image_formats() {
  std::string names = "PNG, JPEG, BMP";
  for (const auto& codec : image_codecs()) names += ", " + std::string(codec.name);
  names += " or TIFF (";
  const auto ext = taken_image_extensions();
  for (std::size_t i = 0; i < ext.size(); ++i) names += (i ? ", " : "") + ext[i];
  return names + ")";
}

inline constexpr std::string_view dicom_not_built_in =
    "DICOM files are read only with the DICOM decoder: #include <mixtrain/data/dicom.hpp> and link mixtrain::dicom";

// Why a reader does not take files with this extension (lowercase), or "".
inline std::string untaken_extension_problem(const std::string& ext, const std::string& shown) {
  const auto taken = taken_image_extensions();
  if (std::find(taken.begin(), taken.end(), ext) != taken.end()) return "";
  if ((ext == ".dcm" || ext == ".dicom") && !registered_codec(image_format::dicom))
    return "'" + shown + "' files are not read: " + std::string(dicom_not_built_in);
  return "'" + shown + "' files are not read: the reader takes " + taken_image_formats() +
         "; convert the file or move it out of the folder";
}


}  // namespace mixtrain::data
