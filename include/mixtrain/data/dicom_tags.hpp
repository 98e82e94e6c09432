#pragma once
// The pixel size of a DICOM image, never guessed. In order:
//  1. ImagerPixelSpacing (0018,1164), the spacing at the detector; divided
//     by EstimatedRadiographicMagnificationFactor (0018,1114) when that is
//     present and positive, which moves it to the patient's midsagittal plane
//     (the magnification correction a cephalostat needs);
//  2. PixelSpacing (0028,0030), as stored (already in the patient plane).
// Non-square spacing (row != column): the mean of the two, said in the
// source. Neither tag: no size, and the source says so.
#include <cmath>
#include <optional>
#include <sstream>
#include <string>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>

namespace mixtrain::data::detail::dicom {

struct spacing {
  std::optional<double> mm;
  std::string source;  // the tag used, or why there is no size
};

inline std::string number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

inline spacing pixel_spacing(DcmDataset& data) {
  const auto pair = [&](const DcmTagKey& key, double& row, double& column) {
    Float64 a = 0, b = 0;
    if (data.findAndGetFloat64(key, a, 0).bad() || !(a > 0) || !std::isfinite(a)) return false;
    if (data.findAndGetFloat64(key, b, 1).bad() || !(b > 0) || !std::isfinite(b)) b = a;  // one value: square
    row = a;
    column = b;
    return true;
  };
  double row = 0, column = 0;
  spacing out;
  if (pair(DCM_ImagerPixelSpacing, row, column)) {
    out.source = "ImagerPixelSpacing (0018,1164)";
    Float64 magnification = 0;
    if (data.findAndGetFloat64(DCM_EstimatedRadiographicMagnificationFactor, magnification, 0).good() && magnification > 0 &&
        std::isfinite(magnification)) {
      row /= magnification;
      column /= magnification;
      out.source += " / " + number(magnification) + " (EstimatedRadiographicMagnificationFactor)";
    }
  } else if (pair(DCM_PixelSpacing, row, column)) {
    out.source = "PixelSpacing (0028,0030)";
  } else {
    out.source = "none: no ImagerPixelSpacing (0018,1164) or PixelSpacing (0028,0030) in the file";
    return out;
  }
  out.mm = (row + column) / 2;
  if (row != column) out.source += "; non-square " + number(row) + " x " + number(column) + " mm, the mean used";
  return out;
}

}  // namespace mixtrain::data::detail::dicom
