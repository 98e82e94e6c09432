// DICOM through DCMTK: files written here with DCMTK (uncompressed, RLE, JPEG
// lossless, JPEG-LS), pixel spacing and its sources, MONOCHROME1, window
// centre/width and rescale by hand-computed values, transfer syntaxes not
// taken, and the message when the decoder is not registered. Then
// data::write_dicom_image (dicom_writer.hpp) read back, and the synthetic
// labelme tree over DICOM images with the pixel size from their tags.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <dcmtk/dcmdata/dcrleerg.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmjpeg/djencode.h>
#include <dcmtk/dcmjpeg/djrplol.h>
#include <dcmtk/dcmjpls/djencode.h>
#include <dcmtk/dcmjpls/djrparam.h>

#include <mixtrain/data/aariz_reader.hpp>
#include <mixtrain/data/dicom.hpp>
#include <mixtrain/data/dicom_writer.hpp>
#include <mixtrain/data/image_file.hpp>
#include <mixtrain/data/labelme_reader.hpp>

#include "../support/temporary_directory.hpp"

namespace fs = std::filesystem;
using namespace mixtrain;
using mixtrain::testing::temporary_directory;
using Catch::Contains;

namespace test_image_formats_dicom {
namespace {

struct dicom_options {
  std::string photometric = "MONOCHROME2";
  int bits_stored = 12;
  bool is_signed = false;
  std::string imager_spacing{}, pixel_spacing{}, magnification{}, window_center{}, window_width{}, slope{}, intercept{};
};

// 100 x 10 values v(y, x) = first + step * x, with row 0's outliers as in
// test_image_formats.cpp: the percentile window keeps [first, first + 99 step].
std::vector<std::int32_t> ramp(int first, int step, int low_outlier, int high_outlier) {
  std::vector<std::int32_t> v(1000);
  for (int y = 0; y < 10; ++y)
    for (int x = 0; x < 100; ++x) v[static_cast<std::size_t>(y * 100 + x)] = first + step * x;
  for (int x = 0; x < 5; ++x) v[static_cast<std::size_t>(x)] = low_outlier, v[static_cast<std::size_t>(99 - x)] = high_outlier;
  return v;
}

int ramp_expected(int x) { return static_cast<int>(std::floor(255.0 * x / 99.0 + 0.5)); }

DcmFileFormat make_dicom(const std::vector<std::int32_t>& values, const dicom_options& o, int rows = 10, int columns = 100) {
  DcmFileFormat file;
  DcmDataset* d = file.getDataset();
  d->putAndInsertString(DCM_SOPClassUID, UID_DigitalXRayImageStorageForPresentation);
  d->putAndInsertString(DCM_SOPInstanceUID, "1.2.826.0.1.3680043.2.1143.1");
  d->putAndInsertString(DCM_PhotometricInterpretation, o.photometric.c_str());
  d->putAndInsertUint16(DCM_SamplesPerPixel, 1);
  d->putAndInsertUint16(DCM_Rows, static_cast<Uint16>(rows));
  d->putAndInsertUint16(DCM_Columns, static_cast<Uint16>(columns));
  d->putAndInsertUint16(DCM_BitsAllocated, 16);
  d->putAndInsertUint16(DCM_BitsStored, static_cast<Uint16>(o.bits_stored));
  d->putAndInsertUint16(DCM_HighBit, static_cast<Uint16>(o.bits_stored - 1));
  d->putAndInsertUint16(DCM_PixelRepresentation, o.is_signed ? 1 : 0);
  const auto put = [&](const DcmTagKey& key, const std::string& value) {
    if (!value.empty()) d->putAndInsertString(key, value.c_str());
  };
  put(DCM_ImagerPixelSpacing, o.imager_spacing);
  put(DCM_PixelSpacing, o.pixel_spacing);
  put(DCM_EstimatedRadiographicMagnificationFactor, o.magnification);
  put(DCM_WindowCenter, o.window_center);
  put(DCM_WindowWidth, o.window_width);
  put(DCM_RescaleSlope, o.slope);
  put(DCM_RescaleIntercept, o.intercept);
  std::vector<Uint16> stored(values.size());
  for (std::size_t i = 0; i < values.size(); ++i)  // two's complement within BitsStored
    stored[i] = static_cast<Uint16>(values[i] & ((1 << o.bits_stored) - 1));
  d->putAndInsertUint16Array(DCM_PixelData, stored.data(), static_cast<unsigned long>(stored.size()));
  return file;
}

fs::path save(DcmFileFormat file, const fs::path& path, E_TransferSyntax xfer = EXS_LittleEndianExplicit,
              const DcmRepresentationParameter* parameter = nullptr) {
  if (xfer != EXS_LittleEndianExplicit && xfer != EXS_BigEndianExplicit && xfer != EXS_LittleEndianImplicit)
    REQUIRE(file.getDataset()->chooseRepresentation(xfer, parameter).good());
  REQUIRE(file.saveFile(path.string().c_str(), xfer).good());
  return path;
}

cv::Mat decode(const fs::path& file) { return data::decode_grayscale(file).pixels; }

void check_ramp(const cv::Mat& decoded, bool inverted = false) {
  REQUIRE(decoded.type() == CV_8UC1);
  REQUIRE(decoded.size() == cv::Size(100, 10));
  for (int y = 1; y < 10; ++y)
    for (int x = 0; x < 100; ++x) {
      INFO("row " << y << ", column " << x);
      const int expected = inverted ? 255 - ramp_expected(x) : ramp_expected(x);
      REQUIRE(static_cast<int>(decoded.at<std::uint8_t>(y, x)) == expected);
    }
}

}  // namespace

TEST_CASE("formats: DICOM in every lossless transfer syntax gives the percentile window", "[formats][dicom]") {
  temporary_directory dir;
  const auto values = ramp(1000, 30, 0, 4095);
  const auto plain = save(make_dicom(values, {}), dir.path() / "plain.dcm");
  const auto header = data::checked_image_header(plain);
  CHECK(header.format == data::image_format::dicom);
  CHECK(header.size == cv::Size(100, 10));
  CHECK(header.bits == 16);
  CHECK(header.channels == 1);
  check_ramp(decode(plain));
  CHECK(data::decode_bytes_bound(plain) > 2 * fs::file_size(plain));

  auto other = make_dicom(values, {});
  check_ramp(decode(save(other, dir.path() / "implicit.dcm", EXS_LittleEndianImplicit)));
  other = make_dicom(values, {});
  check_ramp(decode(save(other, dir.path() / "big_endian.dcm", EXS_BigEndianExplicit)));
  DcmRLEEncoderRegistration::registerCodecs();
  DJEncoderRegistration::registerCodecs();
  DJLSEncoderRegistration::registerCodecs();
  other = make_dicom(values, {});
  check_ramp(decode(save(other, dir.path() / "rle.dcm", EXS_RLELossless)));
  other = make_dicom(values, {});
  const DJ_RPLossless lossless;
  check_ramp(decode(save(other, dir.path() / "jpeg_lossless.dcm", EXS_JPEGProcess14SV1, &lossless)));
  other = make_dicom(values, {});
  const DJLSRepresentationParameter jpeg_ls(0, OFTrue);
  check_ramp(decode(save(other, dir.path() / "jpeg_ls.dcm", EXS_JPEGLSLossless, &jpeg_ls)));
}

TEST_CASE("formats: DICOM pixel spacing says which tag gave it and never guesses", "[formats][dicom]") {
  temporary_directory dir;
  const auto values = ramp(0, 1, 0, 0);
  auto header_of = [&](const dicom_options& o, const std::string& name) {
    auto file = make_dicom(values, o);
    return data::checked_image_header(save(file, dir.path() / name));
  };
  const auto imager = header_of({.imager_spacing = "0.1\\0.1"}, "imager.dcm");
  REQUIRE(imager.pixel_size_mm);
  CHECK(*imager.pixel_size_mm == Approx(0.1));
  CHECK(imager.pixel_size_source == "ImagerPixelSpacing (0018,1164)");

  const auto magnified = header_of({.imager_spacing = "0.11\\0.11", .pixel_spacing = "0.5\\0.5", .magnification = "1.1"}, "mag.dcm");
  REQUIRE(magnified.pixel_size_mm);
  CHECK(*magnified.pixel_size_mm == Approx(0.1));  // 0.11 / 1.1; PixelSpacing is second choice
  CHECK(magnified.pixel_size_source == "ImagerPixelSpacing (0018,1164) / 1.1 (EstimatedRadiographicMagnificationFactor)");

  const auto pixel = header_of({.pixel_spacing = "0.2\\0.3"}, "pixel.dcm");
  REQUIRE(pixel.pixel_size_mm);
  CHECK(*pixel.pixel_size_mm == Approx(0.25));
  CHECK(pixel.pixel_size_source == "PixelSpacing (0028,0030); non-square 0.2 x 0.3 mm, the mean used");

  const auto none = header_of({}, "none.dcm");
  CHECK_FALSE(none.pixel_size_mm);
  CHECK_THAT(none.pixel_size_source, Contains("none: no ImagerPixelSpacing (0018,1164) or PixelSpacing (0028,0030)"));
}

TEST_CASE("formats: DICOM MONOCHROME1 is inverted", "[formats][dicom]") {
  temporary_directory dir;
  auto file = make_dicom(ramp(1000, 30, 0, 4095), {.photometric = "MONOCHROME1"});
  check_ramp(decode(save(file, dir.path() / "mono1.dcm")), true);
}

TEST_CASE("formats: DICOM window centre and width, rescale and signed values by hand", "[formats][dicom]") {
  temporary_directory dir;
  // c = 2048, w = 1024: x <= 1536 -> 0, x > 2558.5 -> 255, else
  // floor(((x - 2047.5) / 1023 + 0.5) * 255 + 0.5):
  // 1537 -> 0.24 -> 0, 1800 -> 65.81 -> 66, 2048 -> 127.62 -> 128, 2300 -> 190.44 -> 190, 2558 -> 254.88 -> 255.
  const std::vector<std::int32_t> x = {1000, 1536, 1537, 1800, 2048, 2300, 2558, 2559, 4000, 0};
  const std::vector<int> expected = {0, 0, 0, 66, 128, 190, 255, 255, 255, 0};
  std::vector<std::int32_t> values(100);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = x[i % x.size()];
  auto windowed = make_dicom(values, {.window_center = "2048", .window_width = "1024\\2000"}, 10, 10);
  const cv::Mat plain = decode(save(windowed, dir.path() / "window.dcm"));
  // RescaleSlope 2, RescaleIntercept -1000: stored s is x = 2 s - 1000, so s = (x + 1000) / 2.
  std::vector<std::int32_t> stored(100);
  for (std::size_t i = 0; i < stored.size(); ++i) stored[i] = (values[i] + 1000) / 2;
  auto rescaled = make_dicom(stored, {.window_center = "2048", .window_width = "1024", .slope = "2", .intercept = "-1000"}, 10, 10);
  const cv::Mat through_rescale = decode(save(rescaled, dir.path() / "rescale.dcm"));
  auto inverted = make_dicom(values, {.photometric = "MONOCHROME1", .window_center = "2048", .window_width = "1024"}, 10, 10);
  const cv::Mat mono1 = decode(save(inverted, dir.path() / "window_mono1.dcm"));
  for (std::size_t i = 0; i < x.size(); ++i) {
    INFO("x = " << x[i]);
    const int column = static_cast<int>(i);
    CHECK(static_cast<int>(plain.at<std::uint8_t>(0, column)) == expected[i]);
    if (x[i] % 2 == 0) CHECK(static_cast<int>(through_rescale.at<std::uint8_t>(0, column)) == expected[i]);
    CHECK(static_cast<int>(mono1.at<std::uint8_t>(0, column)) == 255 - expected[i]);
  }
  // Signed 16-bit values from -2000: the same ramp through the percentile window.
  auto negative = make_dicom(ramp(-2000, 30, -32768, 32767), {.bits_stored = 16, .is_signed = true});
  check_ramp(decode(save(negative, dir.path() / "signed.dcm")));
}

TEST_CASE("formats: DICOM in JPEG 2000 or cut short is an error naming the file", "[formats][dicom]") {
  temporary_directory dir;
  auto file = make_dicom(ramp(0, 1, 0, 0), {});
  // The dataset stays uncompressed; only the meta header claims JPEG 2000.
  file.getMetaInfo()->putAndInsertString(DCM_TransferSyntaxUID, UID_JPEG2000LosslessOnlyTransferSyntax);
  const auto j2k = dir.path() / "j2k.dcm";
  REQUIRE(file.saveFile(j2k.string().c_str(), EXS_LittleEndianExplicit, EET_ExplicitLength, EGL_recalcGL, EPD_noChange, 0, 0,
                        EWM_dontUpdateMeta).good());
  const std::string named = j2k.string() + ": DICOM transfer syntax JPEG 2000 (Lossless only) (1.2.840.10008.1.2.4.90) is not decoded";
  REQUIRE_THROWS_WITH(data::checked_image_header(j2k), Contains(named));
  REQUIRE_THROWS_WITH(data::decode_grayscale(j2k), Contains(j2k.string()) && Contains("1.2.840.10008.1.2.4.90"));

  std::vector<std::int32_t> large(300 * 300);
  for (std::size_t i = 0; i < large.size(); ++i) large[i] = static_cast<std::int32_t>(i % 4096);
  auto whole = make_dicom(large, {}, 300, 300);
  const auto cut = save(whole, dir.path() / "cut.dcm");
  fs::resize_file(cut, fs::file_size(cut) * 2 / 3);
  CHECK(data::checked_image_header(cut).size == cv::Size(300, 300));  // the header is whole
  REQUIRE_THROWS_WITH(data::decode_grayscale(cut), Contains(cut.string() + ": cannot decode image: DICOM"));
}

TEST_CASE("formats: without the DICOM decoder registered a .dcm says how to enable it", "[formats][dicom]") {
  temporary_directory dir;
  auto file = make_dicom(ramp(0, 1, 0, 0), {});
  const auto dcm = save(file, dir.path() / "a.dcm");
  CHECK(data::checked_image_header(dcm).size == cv::Size(100, 10));
  CHECK(data::detail::list_images(dir.path()).size() == 1);
  auto& codecs = data::image_codecs();
  const auto saved = codecs;
  std::erase_if(codecs, [](const data::image_codec& c) { return c.format == data::image_format::dicom; });
  CHECK_THROWS_WITH(data::detail::list_images(dir.path()),
                    Contains(dcm.string() + ": '.dcm' files are not read: DICOM files are read only with the DICOM decoder: "
                                            "#include <mixtrain/data/dicom.hpp> and link mixtrain::dicom"));
  CHECK_THROWS_WITH(data::checked_image_header(dcm), Contains(dcm.string() + ": not an image the reader takes (a DICOM file): "
                                                                              "DICOM files are read only with the DICOM decoder"));
  codecs = saved;
  CHECK_THAT(data::taken_image_formats(), Contains("DICOM") && Contains(".dcm"));
}

TEST_CASE("formats: write_dicom_image reads back with its bits, pixel size and values", "[formats][dicom]") {
  temporary_directory dir;
  const auto values = ramp(1000, 30, 0, 4095);
  cv::Mat wide(10, 100, CV_16UC1);
  for (int i = 0; i < 1000; ++i) wide.at<std::uint16_t>(i / 100, i % 100) = static_cast<std::uint16_t>(values[static_cast<std::size_t>(i)]);
  const auto twelve = dir.path() / "twelve.dcm";
  data::write_dicom_image(twelve, wide, 0.12);
  const auto header = data::checked_image_header(twelve);
  CHECK(header.format == data::image_format::dicom);
  CHECK(header.size == cv::Size(100, 10));
  CHECK(header.bits == 16);
  CHECK(header.channels == 1);
  REQUIRE(header.pixel_size_mm);
  CHECK(*header.pixel_size_mm == Approx(0.12));
  CHECK(header.pixel_size_source == "ImagerPixelSpacing (0018,1164)");
  check_ramp(decode(twelve));
  DcmFileFormat file;
  REQUIRE(file.loadFile(twelve.string().c_str()).good());
  Uint16 stored = 0;
  REQUIRE(file.getDataset()->findAndGetUint16(DCM_BitsStored, stored).good());
  CHECK(stored == 12);  // every value < 4096
  OFString photometric, sop, syntax;
  file.getDataset()->findAndGetOFString(DCM_PhotometricInterpretation, photometric);
  file.getDataset()->findAndGetOFString(DCM_SOPInstanceUID, sop);
  file.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, syntax);
  CHECK(std::string(photometric.c_str()) == "MONOCHROME2");
  CHECK_FALSE(sop.empty());
  CHECK(std::string(syntax.c_str()) == UID_LittleEndianExplicitTransferSyntax);

  // 8 bits, no pixel size; PixelSpacing and the magnification when asked.
  cv::Mat narrow(10, 100, CV_8UC1);
  for (int i = 0; i < 1000; ++i) narrow.at<std::uint8_t>(i / 100, i % 100) = static_cast<std::uint8_t>(values[static_cast<std::size_t>(i)] / 16);
  const auto eight = dir.path() / "eight.dcm";
  data::write_dicom_image(eight, narrow, std::nullopt);
  const auto plain = data::checked_image_header(eight);
  CHECK(plain.bits == 8);
  CHECK_FALSE(plain.pixel_size_mm);
  CHECK(decode(eight).size() == cv::Size(100, 10));
  const auto magnified = dir.path() / "magnified.dcm";
  data::write_dicom_image(magnified, wide, 0.11, {.bits_stored = 16, .pixel_spacing_mm = 0.5, .magnification = 1.1});
  const auto m = data::checked_image_header(magnified);
  REQUIRE(m.pixel_size_mm);
  CHECK(*m.pixel_size_mm == Approx(0.1));
  check_ramp(decode(magnified));

  CHECK_THROWS_WITH(data::write_dicom_image(dir.path() / "float.dcm", cv::Mat(4, 4, CV_32FC1, cv::Scalar(0)), 0.1),
                    Contains("one channel of 8 or 16 bits"));
  CHECK_THROWS_WITH(data::write_dicom_image(dir.path() / "wide.dcm", cv::Mat(4, 4, CV_16UC1, cv::Scalar(5000)), 0.1, {.bits_stored = 12}),
                    Contains("does not fit in 12 bits stored"));
  CHECK_THROWS_WITH(data::write_dicom_image(dir.path() / "no-such-folder" / "a.dcm", wide, 0.1), Contains("cannot write DICOM"));
}

TEST_CASE("formats: a synthetic labelme tree over DICOM takes the pixel size from the tags", "[formats][dicom][labelme]") {
  temporary_directory dir;
  const data::synthetic_labelme_options options{
      .train_images = 5, .valid_images = 1, .test_images = 0, .min_side = 96, .max_side = 128, .symbols_file = true};
  const auto truth = data::write_synthetic_labelme_dicom(dir.path() / "tags", options);
  const auto none = data::write_synthetic_labelme_dicom(dir.path() / "none", options, std::nullopt);
  REQUIRE(truth.size() == 6);
  data::landmark_set set;
  const auto train = data::read_labelme_split(dir.path() / "tags", "train", set, {.pixel_size_mm = 0.1});
  REQUIRE(train.data.images.size() == 5);
  for (std::size_t i = 0; i < train.data.images.size(); ++i) {
    const auto& image = train.data.images[i];
    INFO(image.image_path.string());
    CHECK(image.image_path.extension() == ".dcm");
    CHECK(image.pixel_size_mm == Approx(data::synthetic_dicom_pixel_size_mm));  // 0.12, not the 0.1 asked
    CHECK(image.present == truth[i].present);
    for (std::size_t k = 0; k < image.landmarks.size(); ++k) {
      CHECK(image.landmarks[k].x == truth[i].landmarks[k].x);
      CHECK(image.landmarks[k].y == truth[i].landmarks[k].y);
    }
    const auto pixels = data::decode_grayscale(image.image_path).pixels;
    CHECK(pixels.size() == cv::Size(image.width, image.height));
  }
  CHECK(fs::exists(dir.path() / "tags" / "train" / "images" / "case003.dcm"));
  // The same points as the PNG writer's with the same options.
  const auto png = data::write_synthetic_labelme(dir.path() / "png", options);
  REQUIRE(png.size() == truth.size());
  for (std::size_t i = 0; i < png.size(); ++i)
    for (std::size_t k = 0; k < png[i].landmarks.size(); ++k) {
      CHECK(png[i].landmarks[k].x == truth[i].landmarks[k].x);
      CHECK(png[i].landmarks[k].y == truth[i].landmarks[k].y);
    }
  // Without spacing in the files, the configured size applies.
  data::landmark_set other;
  const auto untagged = data::read_labelme_split(dir.path() / "none", "valid", other, {.pixel_size_mm = 0.1});
  REQUIRE(untagged.data.images.size() == 1);
  CHECK(untagged.data.images[0].pixel_size_mm == 0.1);
}

}  // namespace test_image_formats_dicom
