#pragma once
// Choices measured on the machine that runs (OpenMP spin count, autocast,
// channels-last) are cached, so only a recipe's first start pays for them.
// A cache entry is keyed by what the measurement depends on: CPU model and
// flags, core count, LibTorch version, recipe, plus whatever the caller adds
// (threads, device); another machine or another recipe measures afresh.
// Entries live in $MIXTRAIN_CACHE_DIR, else $XDG_CACHE_HOME/mixtrain, else
// ~/.cache/mixtrain; a damaged or mismatching entry is measured again.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

#include <nlohmann/json.hpp>
#include <torch/version.h>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain {

namespace machine_cache_detail {

MIXTRAIN_COLD std::string cpuinfo_field(const std::string& field);

}  // namespace machine_cache_detail

MIXTRAIN_COLD std::filesystem::path mixtrain_cache_dir();

// The machine part of every key, plus the recipe.
MIXTRAIN_COLD nlohmann::json machine_key(const std::string& recipe);

// `<kind>-<hash of key>.json` in the cache folder.
MIXTRAIN_COLD std::filesystem::path machine_cache_file(const std::string& kind, const nlohmann::json& key);

// The cached record of `kind` whose key equals `key` and that holds `field`.
MIXTRAIN_COLD std::optional<nlohmann::json> read_machine_cache(const std::string& kind, const nlohmann::json& key,
                                                               const std::string& field);

// Written whole and renamed into place: a concurrent reader sees the old
// entry or the new one. A cache that cannot be written only costs a
// measurement next time.
MIXTRAIN_COLD void write_machine_cache(const std::string& kind, nlohmann::json record);

}  // namespace mixtrain

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/core/impl/machine_cache.ipp>
#endif
