#pragma once
// Writes grey images as DICOM files through DCMTK, for synthetic data and
// tests (link mixtrain::dicom; include this only from code that does DICOM):
//
//   data::write_dicom_image("a.dcm", gray16, 0.12);          // ImagerPixelSpacing 0.12 mm
//   data::write_dicom_image("b.dcm", gray8, std::nullopt);    // no pixel size in the file
//   data::write_synthetic_labelme_dicom(folder, {...});       // a labelme tree over .dcm images
//
// The file: explicit VR little endian, one frame, MONOCHROME2, Digital X-Ray
// Image Storage - For Presentation (modality DX), SOP/Study/Series Instance
// UIDs made by dcmGenerateUniqueIdentifier (so two writes of one image differ
// in those bytes). 8-bit images: BitsAllocated/BitsStored 8. 16-bit images:
// BitsAllocated 16, BitsStored 12 or 16 (by default 12 when every value is
// below 4096), HighBit BitsStored - 1, unsigned. No WindowCenter/WindowWidth:
// the reader (dicom.hpp) then applies the percentile window. The pixel size
// tags are written only when given, as "v\v" (square pixels).
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>

#include <opencv2/core.hpp>

#include <mixtrain/data/synthetic_labelme.hpp>

namespace mixtrain::data {

struct dicom_write_options {
  int bits_stored = 0;                     // 16-bit images: 12 or 16; 0: 12 when every value < 4096, else 16
  std::optional<double> pixel_spacing_mm{};  // PixelSpacing (0028,0030) as well, when given
  std::optional<double> magnification{};     // EstimatedRadiographicMagnificationFactor (0018,1114), when given
  std::string patient_id = "SYNTHETIC";
};

namespace detail::dicom_writer {

// A decimal string (DS: at most 16 characters) for a positive finite value.
inline std::string decimal(double v, const char* what) {
  if (!(v > 0) || !std::isfinite(v)) throw std::invalid_argument(std::string("write_dicom_image: ") + what + " must be positive");
  std::ostringstream out;
  out.precision(10);
  out << v;
  if (out.str().size() > 16) throw std::invalid_argument(std::string("write_dicom_image: ") + what + " has too many digits");
  return out.str();
}

inline std::string new_uid() {
  char uid[100];
  return dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT);
}

inline void put(DcmDataset& d, const DcmTagKey& key, const std::string& value, const std::filesystem::path& path) {
  if (const OFCondition c = d.putAndInsertString(key, value.c_str()); c.bad())
    throw std::runtime_error("cannot write DICOM " + path.string() + ": " + c.text());
}

}  // namespace detail::dicom_writer

// Writes `image` (CV_8UC1 or CV_16UC1) to `path` (its folder must exist).
// Throws std::invalid_argument for another image type or a value beyond
// BitsStored, std::runtime_error when DCMTK cannot write the file.
inline void write_dicom_image(const std::filesystem::path& path, const cv::Mat& image,
                              std::optional<double> imager_pixel_spacing_mm, const dicom_write_options& options = {}) {
  namespace w = detail::dicom_writer;
  if (image.empty() || (image.type() != CV_8UC1 && image.type() != CV_16UC1))
    throw std::invalid_argument("write_dicom_image: " + path.string() + ": the image must be one channel of 8 or 16 bits");
  if (image.rows > 65535 || image.cols > 65535)
    throw std::invalid_argument("write_dicom_image: " + path.string() + ": DICOM rows and columns are at most 65535");
  const cv::Mat pixels = image.isContinuous() ? image : image.clone();
  const bool wide = pixels.depth() == CV_16U;
  int bits = 8;
  if (wide) {
    double high = 0;
    cv::minMaxLoc(pixels, nullptr, &high);
    bits = options.bits_stored == 0 ? (high < 4096 ? 12 : 16) : options.bits_stored;
    if (bits != 12 && bits != 16) throw std::invalid_argument("write_dicom_image: bits_stored must be 12 or 16");
    if (high >= static_cast<double>(1 << bits))
      throw std::invalid_argument("write_dicom_image: " + path.string() + ": a value " + std::to_string(static_cast<int>(high)) +
                                  " does not fit in " + std::to_string(bits) + " bits stored");
  } else if (options.bits_stored != 0 && options.bits_stored != 8) {
    throw std::invalid_argument("write_dicom_image: an 8-bit image is stored in 8 bits");
  }

  DcmFileFormat file;
  DcmDataset& d = *file.getDataset();
  w::put(d, DCM_SOPClassUID, UID_DigitalXRayImageStorageForPresentation, path);
  w::put(d, DCM_SOPInstanceUID, w::new_uid(), path);
  w::put(d, DCM_StudyInstanceUID, w::new_uid(), path);
  w::put(d, DCM_SeriesInstanceUID, w::new_uid(), path);
  w::put(d, DCM_Modality, "DX", path);
  w::put(d, DCM_PatientID, options.patient_id, path);
  w::put(d, DCM_PresentationIntentType, "FOR PRESENTATION", path);
  w::put(d, DCM_PhotometricInterpretation, "MONOCHROME2", path);
  d.putAndInsertUint16(DCM_SamplesPerPixel, 1);
  d.putAndInsertUint16(DCM_Rows, static_cast<Uint16>(pixels.rows));
  d.putAndInsertUint16(DCM_Columns, static_cast<Uint16>(pixels.cols));
  d.putAndInsertUint16(DCM_BitsAllocated, wide ? 16 : 8);
  d.putAndInsertUint16(DCM_BitsStored, static_cast<Uint16>(bits));
  d.putAndInsertUint16(DCM_HighBit, static_cast<Uint16>(bits - 1));
  d.putAndInsertUint16(DCM_PixelRepresentation, 0);
  if (imager_pixel_spacing_mm) {
    const auto v = w::decimal(*imager_pixel_spacing_mm, "ImagerPixelSpacing");
    w::put(d, DCM_ImagerPixelSpacing, v + "\\" + v, path);
  }
  if (options.pixel_spacing_mm) {
    const auto v = w::decimal(*options.pixel_spacing_mm, "PixelSpacing");
    w::put(d, DCM_PixelSpacing, v + "\\" + v, path);
  }
  if (options.magnification)
    w::put(d, DCM_EstimatedRadiographicMagnificationFactor, w::decimal(*options.magnification, "magnification"), path);
  const auto count = static_cast<unsigned long>(pixels.total());
  const OFCondition stored = wide ? d.putAndInsertUint16Array(DCM_PixelData, pixels.ptr<Uint16>(0), count)
                                  : d.putAndInsertUint8Array(DCM_PixelData, pixels.ptr<Uint8>(0), count);
  if (stored.bad()) throw std::runtime_error("cannot write DICOM " + path.string() + ": " + stored.text());
  if (const OFCondition saved = file.saveFile(path.string().c_str(), EXS_LittleEndianExplicit); saved.bad())
    throw std::runtime_error("cannot write DICOM " + path.string() + ": " + saved.text());
}

// The pixel size write_synthetic_labelme_dicom writes by default: not the
// labelme source's default 0.1, so a test can tell which one was used.
inline constexpr double synthetic_dicom_pixel_size_mm = 0.12;

// write_synthetic_labelme (synthetic_labelme.hpp) with every image a 16-bit
// DICOM file, <id>.dcm, named by the JSON's imagePath: the 8-bit picture
// scaled to 12 bits (v * 16, no noise), BitsStored 12, ImagerPixelSpacing
// `imager_pixel_spacing_mm` (none when nullopt: the labelme source's
// pixel_size_mm then applies). Returns the true points, as the PNG writer.
inline std::vector<synthetic_labelme_image> write_synthetic_labelme_dicom(
    const std::filesystem::path& root, synthetic_labelme_options options = {},
    std::optional<double> imager_pixel_spacing_mm = synthetic_dicom_pixel_size_mm) {
  options.image_extension = ".dcm";
  options.write_image = [imager_pixel_spacing_mm](const std::filesystem::path& file, const cv::Mat& gray8) {
    cv::Mat twelve_bits;
    gray8.convertTo(twelve_bits, CV_16U, 16.0);
    write_dicom_image(file, twelve_bits, imager_pixel_spacing_mm, {.bits_stored = 12});
  };
  return write_synthetic_labelme(root, options);
}

}  // namespace mixtrain::data
