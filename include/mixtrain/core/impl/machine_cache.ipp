#pragma once
// Definitions of the functions declared in <mixtrain/core/machine_cache.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/core/machine_cache.hpp>

namespace mixtrain {
namespace machine_cache_detail {

MIXTRAIN_COLD std::string cpuinfo_field(const std::string& field) {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field, 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? "" : line.substr(colon + 1 + (colon + 1 < line.size()));
    }
  return "";
}

}  // namespace machine_cache_detail

MIXTRAIN_COLD std::filesystem::path mixtrain_cache_dir() {
  if (const char* dir = std::getenv("MIXTRAIN_CACHE_DIR")) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME")) return std::filesystem::path(xdg) / "mixtrain";
  if (const char* home = std::getenv("HOME")) return std::filesystem::path(home) / ".cache" / "mixtrain";
  return std::filesystem::temp_directory_path() / "mixtrain-cache";
}

MIXTRAIN_COLD nlohmann::json machine_key(const std::string& recipe) {
  return {{"cpu", machine_cache_detail::cpuinfo_field("model name")},
          {"cpu_flags_hash", std::hash<std::string>{}(machine_cache_detail::cpuinfo_field("flags"))},
          {"cores", std::thread::hardware_concurrency()},
          {"libtorch", TORCH_VERSION},
          {"recipe", recipe}};
}

MIXTRAIN_COLD std::filesystem::path machine_cache_file(const std::string& kind, const nlohmann::json& key) {
  return mixtrain_cache_dir() / (kind + "-" + std::to_string(std::hash<std::string>{}(key.dump())) + ".json");
}

MIXTRAIN_COLD std::optional<nlohmann::json> read_machine_cache(const std::string& kind, const nlohmann::json& key,
                                                               const std::string& field) {
  std::ifstream in{machine_cache_file(kind, key)};
  if (!in) return std::nullopt;
  auto record = nlohmann::json::parse(in, nullptr, false);
  if (record.is_discarded() || !record.is_object() || record.value("key", nlohmann::json()) != key ||
      !record.contains(field))
    return std::nullopt;
  return record;
}

MIXTRAIN_COLD void write_machine_cache(const std::string& kind, nlohmann::json record) {
  const auto file = machine_cache_file(kind, record.at("key"));
  std::error_code ignored;
  std::filesystem::create_directories(file.parent_path(), ignored);
  const auto temporary = file.string() + "." + std::to_string(getpid());
  if (std::ofstream(temporary) << record.dump(2) << "\n") std::filesystem::rename(temporary, file, ignored);
  std::filesystem::remove(temporary, ignored);
}

}  // namespace mixtrain
