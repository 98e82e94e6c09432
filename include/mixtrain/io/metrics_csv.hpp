#pragma once
// Reads metrics.csv back, whatever the task's columns (val_mre, ... for
// landmarks; val_accuracy, ... for classes): one numeric column per header
// name. The file may be read while a run appends to it, so a last line
// without its newline (torn) is left out, and so is any row whose field count
// does not match the header. Values that do not parse become NaN.
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace mixtrain::io {

struct metrics_log {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> values;  // values[column][row]

  [[nodiscard]] std::size_t rows() const { return values.empty() ? 0 : values.front().size(); }
  // The column's index, or -1.
  [[nodiscard]] std::ptrdiff_t find(const std::string& name) const {
    for (std::size_t i = 0; i < columns.size(); ++i)
      if (columns[i] == name) return static_cast<std::ptrdiff_t>(i);
    return -1;
  }
};

namespace metrics_csv_detail {
inline std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, ',')) out.push_back(field);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}
inline double parse(const std::string& text) {
  const char* begin = text.c_str();
  char* end = nullptr;
  const double v = std::strtod(begin, &end);
  return end == begin || *end != '\0' ? std::numeric_limits<double>::quiet_NaN() : v;
}
}  // namespace metrics_csv_detail

// metrics.csv as text; see above for what is left out.
inline metrics_log parse_metrics_csv(const std::string& text) {
  metrics_log log;
  std::size_t start = 0;
  bool header = true;
  while (start < text.size()) {
    const auto newline = text.find('\n', start);
    if (newline == std::string::npos) break;  // torn last line
    std::string line = text.substr(start, newline - start);
    start = newline + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    auto fields = metrics_csv_detail::split(line);
    if (header) {
      log.columns = fields;
      log.values.assign(fields.size(), {});
      header = false;
      continue;
    }
    if (fields.size() != log.columns.size()) continue;
    for (std::size_t i = 0; i < fields.size(); ++i) log.values[i].push_back(metrics_csv_detail::parse(fields[i]));
  }
  return log;
}

// The file at `path`; an empty log when it does not exist (evaluate without a
// training run); throws naming the file when it exists but cannot be read.
inline metrics_log read_metrics_csv(const std::filesystem::path& path) {
  if (path.empty() || !std::filesystem::exists(path)) return {};
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot read");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_metrics_csv(text.str());
}

}  // namespace mixtrain::io
