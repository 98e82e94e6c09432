#pragma once
// DICOM images through DCMTK. Including this header registers a decoder with
// image_file.hpp (at static initialisation), so readers take .dcm files;
// link the target mixtrain::dicom. Only recipes and tests that read DICOM
// pay for DCMTK.
//
// Transfer syntaxes decoded: implicit and explicit VR little endian,
// explicit VR big endian, deflated explicit little endian, RLE lossless,
// JPEG (baseline, extended 12-bit, lossless) and JPEG-LS. Any other (JPEG
// 2000, MPEG, ...) is a data_error naming the syntax and its UID, raised
// already when the reader checks the header. Multi-frame files: the first
// frame. The whole image is decoded; the caller scales it down.
//
// Pixel values, to 8 bits, one channel:
//  1. DCMTK's DicomImage applies BitsStored, PixelRepresentation (signed
//     values) and the modality transform (RescaleSlope/Intercept or a
//     Modality LUT); colour images become BT.601 luma.
//  2. Window: the first WindowCenter c / WindowWidth w when present with
//     w >= 1, by the DICOM linear function (PS3.3 C.11.2.1.2.1):
//     x <= c - 0.5 - (w - 1) / 2 -> 0, x > c - 0.5 + (w - 1) / 2 -> 255,
//     else floor(((x - (c - 0.5)) / (w - 1) + 0.5) * 255 + 0.5). Otherwise
//     the percentile window of image_window.hpp (as for 16-bit PNG/TIFF).
//     VOILUTFunction (SIGMOID) and VOI LUT sequences are not applied.
//  3. MONOCHROME1 (white = 0) is inverted: 255 - y.
//
// Pixel size (image_header::pixel_size_mm), never guessed: dicom_tags.hpp.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmimage/diregist.h>
#include <dcmtk/dcmimgle/dcmimage.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>

#include <opencv2/core.hpp>

#include <mixtrain/data/annotation.hpp>
#include <mixtrain/data/dicom_tags.hpp>
#include <mixtrain/data/image_format.hpp>
#include <mixtrain/data/image_window.hpp>

namespace mixtrain::data {

namespace detail::dicom {

// Parses `bytes` (the whole file, or its start for the header: the elements
// before the cut are kept and the condition says the stream ended early).
inline OFCondition load(const std::vector<std::uint8_t>& bytes, DcmFileFormat& file) {
  DcmInputBufferStream stream;
  stream.setBuffer(bytes.data(), static_cast<offile_off_t>(bytes.size()));
  stream.setEos();
  file.transferInit();
  const OFCondition status = file.read(stream, EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
  file.transferEnd();
  return status;
}

inline bool decodable(E_TransferSyntax xfer) {
  switch (xfer) {
    case EXS_LittleEndianImplicit: case EXS_LittleEndianExplicit: case EXS_BigEndianExplicit:
    case EXS_DeflatedLittleEndianExplicit: case EXS_RLELossless: case EXS_JPEGProcess1: case EXS_JPEGProcess2_4:
    case EXS_JPEGProcess14: case EXS_JPEGProcess14SV1: case EXS_JPEGLSLossless: case EXS_JPEGLSLossy:
      return true;
    default:
      return false;
  }
}

// The transfer syntax the file declares, or why it is not decoded here.
inline std::string transfer_syntax_problem(DcmFileFormat& file, E_TransferSyntax& xfer) {
  OFString uid;
  file.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, uid);
  xfer = uid.empty() ? file.getDataset()->getOriginalXfer() : DcmXfer(uid.c_str()).getXfer();
  if (decodable(xfer)) return "";
  const std::string name = xfer == EXS_Unknown ? "an unknown transfer syntax" : DcmXfer(xfer).getXferName();
  return "DICOM transfer syntax " + name + " (" + (uid.empty() ? "no UID" : std::string(uid.c_str())) +
         ") is not decoded: mixtrain takes uncompressed, RLE, JPEG (baseline, extended, lossless) and JPEG-LS; "
         "convert the file (e.g. dcmdjpeg, gdcmconv --raw)";
}

inline std::string read_header(const std::vector<std::uint8_t>& bytes, image_header& out) {
  DcmFileFormat file;
  const OFCondition status = load(bytes, file);
  out.format = image_format::dicom;
  E_TransferSyntax xfer = EXS_Unknown;
  if (auto problem = transfer_syntax_problem(file, xfer); !problem.empty()) return problem;
  DcmDataset& data = *file.getDataset();
  Uint16 rows = 0, columns = 0, bits = 0, samples = 1;
  data.findAndGetUint16(DCM_Rows, rows);
  data.findAndGetUint16(DCM_Columns, columns);
  data.findAndGetUint16(DCM_BitsAllocated, bits);
  data.findAndGetUint16(DCM_SamplesPerPixel, samples);
  if (rows == 0 || columns == 0)
    return status.good() ? "DICOM file without Rows and Columns: not an image"
                         : "DICOM header cannot be read (" + std::string(status.text()) + ")";
  out.size = cv::Size(columns, rows);
  out.bits = bits == 0 ? 16 : bits;
  out.channels = samples == 0 ? 1 : samples;
  const auto spacing = pixel_spacing(data);
  out.pixel_size_mm = spacing.mm;
  out.pixel_size_source = spacing.source;
  return "";
}

// Values after the modality transform, as 32-bit integers.
inline cv::Mat modality_values(const DicomImage& image) {
  const DiPixel* pixels = image.getInterData();
  const auto width = static_cast<int>(image.getWidth()), height = static_cast<int>(image.getHeight());
  if (!pixels || pixels->getCount() < static_cast<unsigned long>(width) * static_cast<unsigned long>(height)) return {};
  cv::Mat out(height, width, CV_32SC1);
  auto copy = [&](const auto* from) {
    auto* to = out.ptr<std::int32_t>(0);
    for (std::size_t i = 0, n = out.total(); i < n; ++i)
      to[i] = static_cast<std::int32_t>(std::min<std::int64_t>(from[i], INT32_MAX));
  };
  const void* data = pixels->getData();
  switch (pixels->getRepresentation()) {
    case EPR_Uint8: copy(static_cast<const Uint8*>(data)); break;
    case EPR_Sint8: copy(static_cast<const Sint8*>(data)); break;
    case EPR_Uint16: copy(static_cast<const Uint16*>(data)); break;
    case EPR_Sint16: copy(static_cast<const Sint16*>(data)); break;
    case EPR_Uint32: copy(static_cast<const Uint32*>(data)); break;
    case EPR_Sint32: copy(static_cast<const Sint32*>(data)); break;
    default: return {};
  }
  return out;
}

// The DICOM linear window function (see the top of this file) into 0..255.
inline cv::Mat linear_window(const cv::Mat& values, double center, double width) {
  cv::Mat out(values.size(), CV_8UC1);
  const double low = center - 0.5 - (width - 1) / 2, high = center - 0.5 + (width - 1) / 2;
  for (int y = 0; y < values.rows; ++y)
    for (int x = 0; x < values.cols; ++x) {
      const double v = values.at<std::int32_t>(y, x);
      out.at<std::uint8_t>(y, x) =
          v <= low ? 0 : v > high ? 255 : static_cast<std::uint8_t>(std::floor(((v - (center - 0.5)) / (width - 1) + 0.5) * 255 + 0.5));
    }
  return out;
}

inline cv::Mat decode(const std::vector<std::uint8_t>& bytes, const std::filesystem::path& path) {
  DcmFileFormat file;
  const OFCondition status = load(bytes, file);
  E_TransferSyntax xfer = EXS_Unknown;  // first: a syntax not taken may also fail to parse
  if (auto problem = transfer_syntax_problem(file, xfer); !problem.empty()) throw data_error(path, "cannot decode image: " + problem);
  if (status.bad()) throw data_error(path, "cannot decode image: DICOM data cannot be read (" + std::string(status.text()) + ")");
  DcmDataset& data = *file.getDataset();
  DicomImage image(&data, xfer, 0UL, 0UL, 1UL);  // the first frame
  if (image.getStatus() != EIS_Normal)
    throw data_error(path, std::string("cannot decode image: DICOM pixel data: ") + DicomImage::getString(image.getStatus()));
  const DicomImage* mono = &image;
  std::unique_ptr<DicomImage> luma;
  if (!image.isMonochrome()) {
    luma.reset(image.createMonochromeImage(0.299, 0.587, 0.114));
    if (!luma || luma->getStatus() != EIS_Normal) throw data_error(path, "cannot decode image: DICOM colour to grey failed");
    mono = luma.get();
  }
  const cv::Mat values = modality_values(*mono);
  if (values.empty()) throw data_error(path, "cannot decode image: DICOM pixel data incomplete or of an unknown representation");
  Float64 center = 0, width = 0;
  const bool windowed = data.findAndGetFloat64(DCM_WindowCenter, center, 0).good() &&
                        data.findAndGetFloat64(DCM_WindowWidth, width, 0).good() && width >= 1;
  cv::Mat out = windowed ? linear_window(values, center, width) : percentile_window_to_8bit(values);
  if (image.getPhotometricInterpretation() == EPI_Monochrome1) out = 255 - out;
  return out;
}

struct registration {
  registration() {
    DcmRLEDecoderRegistration::registerCodecs();
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    // Failures reach the caller as data_error naming the file; DCMTK's own
    // stderr messages about the same failure are kept quiet.
    for (const char* logger : {"dcmtk.dcmdata", "dcmtk.dcmimgle", "dcmtk.dcmimage", "dcmtk.dcmjpeg", "dcmtk.dcmjpls"})
      OFLog::getLogger(logger).setLogLevel(OFLogger::FATAL_LOG_LEVEL);
    register_image_codec({image_format::dicom, "DICOM", ".dcm .dicom", &read_header, &decode});
  }
};

}  // namespace detail::dicom

// Registers the decoder once per program, in whichever file includes this.
inline const detail::dicom::registration dicom_decoder_registration{};

}  // namespace mixtrain::data
