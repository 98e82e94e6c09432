#pragma once
// The data-source role: reads splits of a dataset folder and streams host
// batches. Free of LibTorch, so data headers stay cheap to compile.
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mixtrain {

// What the loop asks of a data source's pipeline for one split.
struct pipeline_settings {
  int batch_size = 8;
  int num_workers = 2;  // 0: the source measures and picks
  int prefetch_batches = 2;
  std::size_t memory_budget_bytes = std::size_t{1} << 30;
  std::size_t cache_bytes = 0;
  std::uint64_t seed = 0;
  bool training = true;  // shuffle and augment
  bool skip_bad_samples = false;
  std::ostream* log = nullptr;
  // Data parallelism: this rank's shard of each epoch's order (training only).
  int shard = 0;
  int shards = 1;
};

// Batches of one split, in epoch order.
template <class P, class Batch>
concept batch_source = requires(P& p, std::uint64_t epoch, std::int64_t skip) {
  p.start_epoch(epoch, skip);  // skip: micro-batches already done (resume)
  { p.next() } -> std::same_as<std::optional<Batch>>;
  { p.batches_per_epoch() } -> std::convertible_to<std::int64_t>;
  { p.wait_seconds() } -> std::convertible_to<double>;  // consumer time spent waiting, cumulative
  { p.num_workers() } -> std::convertible_to<int>;
  p.stop();
};

// A data source: reads splits of a dataset folder and streams host batches.
template <class D>
concept data_source =
    std::default_initializable<D> &&
    requires {
      typename D::sample_set;   // one split, in memory
      typename D::target_info;  // what is predicted (e.g. the landmark set), learnt from the data
      typename D::batch_type;
      typename D::pipeline_type;
      { D::name } -> std::convertible_to<std::string_view>;
    } &&
    requires(D& d, const D& cd, const std::filesystem::path& path, const std::string& split,
             typename D::target_info& targets, const typename D::sample_set& set, const pipeline_settings& s) {
      { d.read_split(path, split, targets) } -> std::same_as<typename D::sample_set>;
      { cd.describe() } -> std::convertible_to<nlohmann::json>;
      { cd.contract() } -> std::convertible_to<nlohmann::json>;  // preprocessing a checkpoint must match
      { d.make_pipeline(set, s) } -> std::same_as<std::unique_ptr<typename D::pipeline_type>>;
    } && batch_source<typename D::pipeline_type, typename D::batch_type>;

template <class D>
struct check_data_source {
  static_assert(requires { typename D::sample_set; }, "data source: missing `using sample_set = ...` (one split in memory).");
  static_assert(requires { typename D::target_info; }, "data source: missing `using target_info = ...` (e.g. the landmark set).");
  static_assert(requires { typename D::batch_type; }, "data source: missing `using batch_type = ...` (a host batch).");
  static_assert(requires { typename D::pipeline_type; }, "data source: missing `using pipeline_type = ...`.");
  static_assert(requires { D::name; }, "data source: missing `static constexpr std::string_view name`.");
  static constexpr bool ok = data_source<D>;
  static_assert(ok, "data source: read_split(path, split, targets&), describe() const, contract() const and "
                    "make_pipeline(set, settings) -> std::unique_ptr<pipeline_type> are required, and the pipeline "
                    "needs start_epoch, next, batches_per_epoch, wait_seconds, num_workers and stop (core/roles.hpp).");
};

}  // namespace mixtrain
