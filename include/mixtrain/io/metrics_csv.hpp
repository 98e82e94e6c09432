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
#include <mixtrain/core/separate_compilation.hpp>

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
MIXTRAIN_COLD std::vector<std::string> split(const std::string& line);
MIXTRAIN_COLD double parse(const std::string& text);
}  // namespace metrics_csv_detail

// metrics.csv as text; see above for what is left out.
MIXTRAIN_COLD metrics_log parse_metrics_csv(const std::string& text);

// The file at `path`; an empty log when it does not exist (evaluate without a
// training run); throws naming the file when it exists but cannot be read.
MIXTRAIN_COLD metrics_log read_metrics_csv(const std::filesystem::path& path);

}  // namespace mixtrain::io

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/io/impl/metrics_csv.ipp>
#endif
