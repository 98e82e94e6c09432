#pragma once
// Definitions of the functions declared in <mixtrain/data/image_file.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/data/image_file.hpp>

namespace mixtrain::data {

MIXTRAIN_COLD std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw data_error(path, "cannot open image file");
  const auto end = in.tellg();
  if (end < 0) throw data_error(path, "cannot read image file");
  const auto size = static_cast<std::size_t>(end);
  std::vector<std::uint8_t> bytes(size);
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (!in) throw data_error(path, "cannot read image file");
  return bytes;
}

MIXTRAIN_COLD std::optional<cv::Size> image_size_from_header(const std::vector<std::uint8_t>& b) {
  if (is_tiff(b)) {
    const auto d = parse_tiff_directory(b);
    return d.complete && d.size.width > 0 && d.size.height > 0 ? std::optional(d.size) : std::nullopt;
  }
  if (format_of(b) == image_format::dicom) {
    image_header h;
    const auto* codec = registered_codec(image_format::dicom);
    if (!codec || !codec->read_header(b, h).empty()) return std::nullopt;
    return h.size;
  }
  auto be32 = [&](std::size_t i) { return (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]; };
  auto le32 = [&](std::size_t i) {  // BMP heights are negative for top-down rows; INT_MIN has no absolute value
    const auto v = static_cast<std::int32_t>(b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (static_cast<std::uint32_t>(b[i + 3]) << 24));
    return v == INT32_MIN ? INT32_MAX : std::abs(v);
  };
  if (b.size() >= 24 && b[0] == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') return cv::Size(be32(16), be32(20));
  if (b.size() >= 26 && b[0] == 'B' && b[1] == 'M') return cv::Size(le32(18), le32(22));
  if (b.size() >= 4 && b[0] == 0xFF && b[1] == 0xD8) {
    std::size_t i = 2;
    while (i + 9 < b.size()) {
      if (b[i] != 0xFF) return std::nullopt;
      const int marker = b[i + 1];
      const std::size_t length = (b[i + 2] << 8) | b[i + 3];
      const bool start_of_frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
      if (start_of_frame) return cv::Size((b[i + 7] << 8) | b[i + 8], (b[i + 5] << 8) | b[i + 6]);
      i += 2 + length;
    }
  }
  return std::nullopt;
}

MIXTRAIN_COLD image_header parse_image_header(const std::vector<std::uint8_t>& b) {
  image_header h;
  h.format = format_of(b);
  if (h.format == image_format::dicom) {
    if (const auto* codec = registered_codec(image_format::dicom)) codec->read_header(b, h);
    return h;
  }
  h.pixel_size_source = "none: only DICOM files carry a pixel size read here";
  if (const auto size = image_size_from_header(b)) h.size = *size;
  if (h.format == image_format::tiff) {
    const auto d = parse_tiff_directory(b);
    h.bits = d.bits;
    h.channels = d.channels;
  } else if (h.format == image_format::png && b.size() >= 29) {
    const int colour = b[25];
    h.bits = b[24];
    h.channels = colour == 0 ? 1 : colour == 2 ? 3 : colour == 3 ? 1 : colour == 4 ? 2 : colour == 6 ? 4 : 0;
    h.interlaced = b[28] != 0;
  } else if (h.format == image_format::bmp && b.size() >= 30) {
    h.bits = 8;
    h.channels = std::max(1, (b[28] | (b[29] << 8)) / 8);
  } else if (h.format == image_format::jpeg) {
    std::size_t i = 2;
    while (i + 9 < b.size() && b[i] == 0xFF) {
      const int marker = b[i + 1];
      const bool start_of_frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
      if (start_of_frame) {
        h.channels = b[i + 9];
        h.interlaced = marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE;
        break;
      }
      i += 2 + static_cast<std::size_t>((b[i + 2] << 8) | b[i + 3]);
    }
  }
  return h;
}

MIXTRAIN_COLD std::size_t decode_bytes_bound(const image_header& h, std::size_t file_bytes) {
  const auto w = static_cast<std::size_t>(std::max(h.size.width, 1));
  const auto rows = static_cast<std::size_t>(std::max(h.size.height, 1));
  const std::size_t gray = w * rows;
  const std::size_t slack = std::size_t{1} << 20;  // decoder state, row buffers
  const auto channels = static_cast<std::size_t>(h.channels > 0 ? h.channels : 4);
  const auto bytes_per_sample = static_cast<std::size_t>(h.bits > 8 ? 2 : 1);
  std::size_t decoding = file_bytes + gray;
  switch (h.format) {
    case image_format::png:  // file (IDAT data joined in place) + inflated rows; OpenCV's path: + output (16-bit too)
      decoding = file_bytes + (w * channels * bytes_per_sample + 1) * rows + gray + (bytes_per_sample - 1) * 2 * gray;
      break;
    case image_format::tiff:  // file + libtiff's samples + a 16-bit gray copy + output
      decoding = file_bytes + w * channels * bytes_per_sample * rows + 2 * gray + gray;
      break;
    case image_format::dicom:  // DCMTK: the dataset, the decompressed samples, its 32-bit values; our copy + output
      decoding = 2 * file_bytes + w * channels * bytes_per_sample * rows + 8 * gray + gray;
      break;
    case image_format::jpeg:  // a progressive JPEG keeps every DCT coefficient (2 bytes) until the end
      decoding = file_bytes + gray + (h.interlaced ? 2 * channels * (w + 16) * (rows + 16) : 0);
      break;
    case image_format::bmp:
      decoding = file_bytes + gray;
      break;
    case image_format::unknown:
      decoding = file_bytes + (channels * bytes_per_sample + 1) * gray;
      break;
  }
  const std::size_t halving = gray + gray / 3 + 1;  // after decoding: the image and its halves
  return std::max(decoding, halving) + slack;
}

MIXTRAIN_COLD std::string truncation_problem(const std::vector<std::uint8_t>& b) {
  const auto tail_has = [&](std::initializer_list<std::uint8_t> pattern, std::size_t window) {
    const std::size_t n = pattern.size();
    if (b.size() < n) return false;
    const std::size_t lowest = b.size() > window ? b.size() - window : 0;
    for (std::size_t i = b.size() - n + 1; i-- > lowest;)
      if (std::equal(pattern.begin(), pattern.end(), b.begin() + static_cast<std::ptrdiff_t>(i))) return true;
    return false;
  };
  switch (format_of(b)) {
    case image_format::jpeg:
      return tail_has({0xFF, 0xD9}, 64) ? "" : "image file is truncated (JPEG end marker missing)";
    case image_format::png:
      return tail_has({'I', 'E', 'N', 'D'}, 64) ? "" : "image file is truncated (PNG end chunk missing)";
    case image_format::bmp: {
      if (b.size() < 54) return "image file is truncated (BMP header incomplete)";
      auto le = [&](std::size_t i, int n) {
        std::uint32_t v = 0;
        for (int k = n - 1; k >= 0; --k) v = (v << 8) | b[i + static_cast<std::size_t>(k)];
        return v;
      };
      const std::uint32_t offset = le(10, 4), compression = le(30, 4), bits = le(28, 2);
      // Magnitudes as 64-bit: std::abs(INT32_MIN) would overflow.
      const auto width = static_cast<std::uint64_t>(std::abs(std::int64_t{static_cast<std::int32_t>(le(18, 4))}));
      const auto height = static_cast<std::uint64_t>(std::abs(std::int64_t{static_cast<std::int32_t>(le(22, 4))}));
      if (compression != 0 && compression != 3) return "";  // RLE: the length is not known up front
      const std::uint64_t row = ((bits * width + 31) / 32) * 4;
      return offset + row * height <= b.size() ? "" : "image file is truncated (BMP pixel data incomplete)";
    }
    case image_format::tiff: {
      const auto d = parse_tiff_directory(b);
      if (!d.complete) return "image file is truncated (TIFF directory missing)";
      return d.data_end <= b.size() ? "" : "image file is truncated (TIFF strip data incomplete)";
    }
    case image_format::dicom:  // DCMTK reports a short pixel data element
    case image_format::unknown:
      return "";
  }
  return "";
}

MIXTRAIN_COLD bool looks_truncated(const std::vector<std::uint8_t>& b) { return !truncation_problem(b).empty(); }

MIXTRAIN_COLD std::string_view untaken_format_name(const std::vector<std::uint8_t>& b) {
  auto starts = [&](std::string_view magic, std::size_t at = 0) {
    return b.size() >= at + magic.size() && std::equal(magic.begin(), magic.end(), b.begin() + static_cast<std::ptrdiff_t>(at));
  };
  if (starts(std::string_view("II+\0", 4)) || starts(std::string_view("MM\0+", 4))) return "a BigTIFF file";
  if (starts("GIF8")) return "a GIF file";
  if (starts("RIFF") && starts("WEBP", 8)) return "a WebP file";
  if (starts(std::string_view("\0\0\0\x0cjP  ", 8)) || starts(std::string_view("\xff\x4f\xff\x51", 4))) return "a JPEG 2000 file";
  if (starts("P5") || starts("P2")) return "a PGM file";
  return "";
}

MIXTRAIN_COLD std::string header_problem(const std::vector<std::uint8_t>& b) {
  if (b.empty()) return "image file is empty (0 bytes)";
  const auto format = format_of(b);
  if (format == image_format::dicom) {
    const auto* codec = registered_codec(image_format::dicom);
    if (!codec) return "not an image the reader takes (a DICOM file): " + std::string(dicom_not_built_in);
    image_header h;
    if (auto problem = codec->read_header(b, h); !problem.empty()) return problem;
  }
  if (format == image_format::tiff)
    if (auto problem = tiff_problem(parse_tiff_directory(b)); !problem.empty()) return problem;
  if (format == image_format::unknown) {
    std::string first;
    for (std::size_t i = 0; i < std::min<std::size_t>(b.size(), 4); ++i) {
      static constexpr char hex[] = "0123456789abcdef";
      first += std::string(i ? " " : "") + hex[b[i] >> 4] + hex[b[i] & 15];
    }
    const auto name = untaken_format_name(b);
    return "not an image the reader takes (" + (name.empty() ? "it starts with bytes " + first : std::string(name)) +
           "); it takes " + taken_image_formats();
  }
  const auto size = image_size_from_header(b);
  if (!size) return "image header is damaged or incomplete (no image size found)";
  const auto w = static_cast<std::int64_t>(size->width), h = static_cast<std::int64_t>(size->height);
  const auto claims = "header claims " + std::to_string(w) + "x" + std::to_string(h) + " pixels";
  if (w <= 0 || h <= 0) return claims + ": an empty image";
  if (w > max_image_side || h > max_image_side || w * h > max_image_pixels)
    return claims + ", over the limit of " + std::to_string(max_image_pixels) + " pixels (16384x16384) or " +
           std::to_string(max_image_side) + " on a side: refused before decoding";
  return "";
}

MIXTRAIN_COLD std::vector<std::uint8_t> read_image_head(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw data_error(path, "cannot open image file");
  std::vector<std::uint8_t> head(1 << 16);
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  const auto format = format_of(head);
  const bool deferred = format == image_format::jpeg || format == image_format::tiff || format == image_format::dicom;
  if (head.size() == (1u << 16) && deferred && !image_size_from_header(head)) return read_file_bytes(path);
  return head;
}

MIXTRAIN_COLD std::optional<cv::Size> read_image_header_size(const std::filesystem::path& path) {
  try {
    return image_size_from_header(read_image_head(path));
  } catch (const data_error&) {
    return std::nullopt;
  }
}

MIXTRAIN_COLD std::size_t decode_bytes_bound(const std::filesystem::path& path) {
  std::error_code ec;
  const auto file_bytes = std::filesystem::file_size(path, ec);
  if (ec) return 0;
  try {
    return decode_bytes_bound(parse_image_header(read_image_head(path)), static_cast<std::size_t>(file_bytes));
  } catch (const data_error&) {
    return 0;
  }
}

MIXTRAIN_COLD image_header checked_image_header(const std::filesystem::path& path) {
  const auto head = read_image_head(path);
  if (auto problem = header_problem(head); !problem.empty()) throw data_error(path, problem);
  return parse_image_header(head);
}

MIXTRAIN_COLD int reduction_for(double needed_scale) {
  int factor = 1;
  while (factor < 8 && needed_scale * factor * 2 <= 1.0) factor *= 2;
  return factor;
}

MIXTRAIN_COLD decoded_image decode_grayscale(std::vector<std::uint8_t> bytes, const std::filesystem::path& path,
                                             double needed_scale_or_zero) {
  if (auto problem = header_problem(bytes); !problem.empty()) throw data_error(path, "cannot decode image: " + problem);
  const auto format = format_of(bytes);
  // A DICOM file is parsed once more, by its decoder: its size comes from the pixels.
  const bool dicom = format == image_format::dicom;
  const auto header_size = dicom ? std::nullopt : image_size_from_header(bytes);
  if (auto problem = truncation_problem(bytes); !problem.empty()) throw data_error(path, problem);
  const auto header = dicom ? image_header{} : parse_image_header(bytes);
  int factor = 1;
  if (format == image_format::jpeg && header_size && needed_scale_or_zero > 0) factor = reduction_for(needed_scale_or_zero);
  const int flag = (factor == 8   ? cv::IMREAD_REDUCED_GRAYSCALE_8
                    : factor == 4 ? cv::IMREAD_REDUCED_GRAYSCALE_4
                    : factor == 2 ? cv::IMREAD_REDUCED_GRAYSCALE_2
                                  : cv::IMREAD_GRAYSCALE) |
                   cv::IMREAD_IGNORE_ORIENTATION | (header.bits > 8 ? cv::IMREAD_ANYDEPTH : 0);  // 16 bits: windowed below
  cv::Mat pixels;
  auto fast = detail::png_status::unsupported;
  if (format == image_format::png) fast = detail::decode_png_fast(bytes, pixels);
  if (fast == detail::png_status::corrupt)
    throw data_error(path, "cannot decode image: corrupt PNG data (bad chunk, filter or compressed stream)");
  if (dicom) {
    pixels = registered_codec(image_format::dicom)->decode(bytes, path);  // header_problem checked it is there
  } else if (fast == detail::png_status::unsupported) {
    try {
      pixels = cv::imdecode(cv::_InputArray(bytes.data(), static_cast<int>(bytes.size())), flag);
    } catch (const cv::Exception& e) {
      throw data_error(path, std::string("cannot decode image: ") + e.what());
    }
  }
  if (pixels.empty()) throw data_error(path, "cannot decode image: the file is corrupt, truncated or not an image");
  if (pixels.depth() == CV_16U && pixels.channels() == 1) pixels = percentile_window_to_8bit(pixels);
  if (pixels.channels() != 1) throw data_error(path, "cannot decode image: the decoder gave " + std::to_string(pixels.channels()) + " channels");
  if (pixels.depth() != CV_8U) pixels.convertTo(pixels, CV_8U, 1.0 / 257.0);  // not expected
  decoded_image out;
  out.original_size = header_size.value_or(pixels.size());
  if (factor > 1) {
    // libjpeg rounds the reduced size up; the mapping is the factor itself.
    const cv::Size expected((out.original_size.width + factor - 1) / factor, (out.original_size.height + factor - 1) / factor);
    if (pixels.size() != expected) {
      factor = 1;  // an unexpected decoder: fall back to the sizes it reports
      out.scale_x = static_cast<double>(out.original_size.width) / pixels.cols;
      out.scale_y = static_cast<double>(out.original_size.height) / pixels.rows;
    } else {
      out.scale_x = out.scale_y = factor;
    }
  } else if (pixels.size() != out.original_size) {
    out.original_size = pixels.size();  // a header we misread: trust the decoder
  }
  out.reduction = factor == 1 ? std::max(out.scale_x, 1.0) : factor;
  out.pixels = std::move(pixels);
  return out;
}

MIXTRAIN_COLD decoded_image decode_grayscale(const std::filesystem::path& path, double needed_scale_or_zero) {
  return decode_grayscale(read_file_bytes(path), path, needed_scale_or_zero);
}

}  // namespace mixtrain::data
