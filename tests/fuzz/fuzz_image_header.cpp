// libFuzzer target: the image-file path of image_file.hpp on arbitrary bytes
// fed from memory (decode_grayscale(bytes, name, scale), no temporary file):
// format sniffing, header parsing, the decode memory bound, truncation and
// size checks, then the decode itself (libdeflate PNG path or OpenCV's
// cv::imdecode), at full or reduced resolution. Only a data_error naming the
// file may escape; a decoded image is 8-bit, one channel, non-empty.
// To keep thousands of runs a second, inputs whose header claims more than
// 4 Mpx are checked but not decoded (the reader's own limit is 268 Mpx).
// Built and run by scripts/fuzz.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include <mixtrain/data/image_file.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace d = mixtrain::data;
  std::vector<std::uint8_t> bytes(data, data + size);
  const auto header = d::parse_image_header(bytes);
  (void)d::decode_bytes_bound(header, size);
  (void)d::truncation_problem(bytes);
  const auto problem = d::header_problem(bytes);
  if (problem.empty() &&
      static_cast<std::int64_t>(header.size.width) * header.size.height > (std::int64_t{1} << 22))
    return 0;
  try {
    const double scale = size % 3 == 0 ? 0.0 : size % 3 == 1 ? 0.3 : 0.1;  // full, 1/2 and 1/8 JPEG decodes
    const auto decoded = d::decode_grayscale(std::move(bytes), "fuzz.img", scale);
    if (!problem.empty()) std::abort();  // refused headers must never reach a decoder
    if (decoded.pixels.empty() || decoded.pixels.type() != CV_8UC1 || !(decoded.scale_x > 0) || !(decoded.scale_y > 0))
      std::abort();
  } catch (const d::data_error& e) {
    if (std::string_view(e.what()).substr(0, 8) != "fuzz.img") std::abort();
  }
  return 0;
}
