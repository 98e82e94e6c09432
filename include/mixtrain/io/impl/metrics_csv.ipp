#pragma once
// Definitions of the functions declared in <mixtrain/io/metrics_csv.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/io/metrics_csv.hpp>

namespace mixtrain::io {
namespace metrics_csv_detail {

MIXTRAIN_COLD std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, ',')) out.push_back(field);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

MIXTRAIN_COLD double parse(const std::string& text) {
  const char* begin = text.c_str();
  char* end = nullptr;
  const double v = std::strtod(begin, &end);
  return end == begin || *end != '\0' ? std::numeric_limits<double>::quiet_NaN() : v;
}

}  // namespace metrics_csv_detail

MIXTRAIN_COLD metrics_log parse_metrics_csv(const std::string& text) {
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

MIXTRAIN_COLD metrics_log read_metrics_csv(const std::filesystem::path& path) {
  if (path.empty() || !std::filesystem::exists(path)) return {};
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot read");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_metrics_csv(text.str());
}

}  // namespace mixtrain::io
