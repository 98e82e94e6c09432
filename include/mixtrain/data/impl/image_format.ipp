#pragma once
// Definitions of the functions declared in <mixtrain/data/image_format.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/data/image_format.hpp>

namespace mixtrain::data {

MIXTRAIN_COLD image_format format_of(const std::vector<std::uint8_t>& b) {
  if (b.size() >= 8 && b[0] == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') return image_format::png;
  if (b.size() >= 2 && b[0] == 0xFF && b[1] == 0xD8) return image_format::jpeg;
  if (b.size() >= 2 && b[0] == 'B' && b[1] == 'M') return image_format::bmp;
  if (is_tiff(b)) return image_format::tiff;
  if (b.size() >= 132 && std::memcmp(&b[128], "DICM", 4) == 0) return image_format::dicom;
  return image_format::unknown;
}

MIXTRAIN_COLD std::vector<image_codec>& image_codecs() {
  static std::vector<image_codec> codecs;
  return codecs;
}

MIXTRAIN_COLD bool register_image_codec(const image_codec& codec) {
  auto& codecs = image_codecs();
  for (const auto& c : codecs)
    if (c.format == codec.format) return true;
  codecs.push_back(codec);
  return true;
}

MIXTRAIN_COLD std::vector<std::string> taken_image_extensions() {
  std::vector<std::string> ext = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"};
  for (const auto& codec : image_codecs())
    for (std::size_t at = 0; at < codec.extensions.size();) {
      const auto end = std::min(codec.extensions.find(' ', at), codec.extensions.size());
      ext.emplace_back(codec.extensions.substr(at, end - at));
      at = end + 1;
    }
  return ext;
}

MIXTRAIN_COLD std::string taken_image_formats() {
  std::string names = "PNG, JPEG, BMP";
  for (const auto& codec : image_codecs()) names += ", " + std::string(codec.name);
  names += " or TIFF (";
  const auto ext = taken_image_extensions();
  for (std::size_t i = 0; i < ext.size(); ++i) names += (i ? ", " : "") + ext[i];
  return names + ")";
}

MIXTRAIN_COLD std::string untaken_extension_problem(const std::string& ext, const std::string& shown) {
  const auto taken = taken_image_extensions();
  if (std::find(taken.begin(), taken.end(), ext) != taken.end()) return "";
  if ((ext == ".dcm" || ext == ".dicom") && !registered_codec(image_format::dicom))
    return "'" + shown + "' files are not read: " + std::string(dicom_not_built_in);
  return "'" + shown + "' files are not read: the reader takes " + taken_image_formats() +
         "; convert the file or move it out of the folder";
}

}  // namespace mixtrain::data
