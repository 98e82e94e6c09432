#pragma once
// A trainer's checkpoint: what io::write_checkpoint stores for every run plus
// the loop's counters, the latest validation, each policy's state and the
// run's identity (batch size, accumulation, seed, policies, training data).
// A resumed run must have the same identity, or it would not continue the
// same run: the differences are listed and the resume is refused.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/hana.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/fields.hpp>
#include <mixtrain/core/hooks.hpp>
#include <mixtrain/io/checkpoint.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::detail {

namespace hana = boost::hana;

// The names of a recipe's policies, in order (defaults included), except
// those that declare `in_run_identity = false` (output only, such as the
// progress display): a resume need not match them.
template <class Policies>
nlohmann::json policy_names(const Policies& policies) {
  auto names = nlohmann::json::array();
  hana::for_each(policies, [&](const auto& p) {
    using P = std::remove_cvref_t<decltype(p)>;
    if constexpr (requires { P::in_run_identity; })
      if (!P::in_run_identity) return;
    names.push_back(std::string(P::name));
  });
  return names;
}

// What `describe` prints: the recipe's parts and settings.
template <class Trainer>
nlohmann::json describe_trainer(Trainer& t) {
  nlohmann::json policy_list = nlohmann::json::array();
  hana::for_each(t.policies, [&](auto& p) {
    using P = std::remove_cvref_t<decltype(p)>;
    nlohmann::json entry = {{"name", P::name}};
    if constexpr (hook::describe::present<P>) entry["settings"] = p.describe();
    policy_list.push_back(entry);
  });
  return {{"recipe", t.run.recipe_name},
          {"model", Trainer::model_spec::name},
          {"params", t.parameter_count()},
          {"data", t.data.describe()},
          {"task", t.task.describe()},
          {"optimizer", t.optimizer_settings.describe()},
          {"policies", policy_list},
          {"fit", describe_fields(t.run.fit)}};
}

// An upper bound on a checkpoint's size: weights and buffers, two optimizer
// moments and one policy's copy (EMA).
inline std::uintmax_t checkpoint_bytes_bound(const torch::nn::Module& model) {
  std::uintmax_t bytes = 0;
  for (const auto& p : model.parameters()) bytes += p.numel() * p.element_size();
  for (const auto& b : model.buffers()) bytes += b.numel() * b.element_size();
  return 4 * bytes;
}

// The archive key of a policy's state. Appended, not `"policy_" + string`:
// GCC 12 reports a false -Warray-bounds in that operator+ once inlined.
inline std::string policy_state_key(std::string_view policy_name) {
  std::string key = "policy_";
  key += policy_name;
  return key;
}

// Writes the trainer's full state; the counters point where a resume starts.
template <class Trainer>
void write_trainer_checkpoint(Trainer& t, const std::filesystem::path& path, const nlohmann::json& identity) {
  auto& c = t.ctx();
  nlohmann::json metrics = nullptr;
  if (c.validated) metrics = describe_fields(c.metrics);
  const nlohmann::json counters = {{"epoch", c.epoch},
                                   {"batch_in_epoch", c.batch_in_epoch},
                                   {"micro_step", c.micro_step},
                                   {"global_step", c.global_step},
                                   {"nonfinite_steps", c.nonfinite_steps},
                                   {"epoch_loss_so_far", c.batch_in_epoch > 0 ? t.epoch_loss_so_far() : std::pair{0.0, 0.0}},
                                   {"metrics", metrics},
                                   {"run", identity}};
  io::write_checkpoint(path, *t.model(), t.optimizer(), t.contract(), counters, [&](torch::serialize::OutputArchive& archive) {
    hana::for_each(t.policies, [&](auto& p) {
      using P = std::remove_cvref_t<decltype(p)>;
      if constexpr (hook::save_state::present<P>) {
        torch::serialize::OutputArchive policy_archive;
        p.save_state(policy_archive);
        archive.write(policy_state_key(P::name), policy_archive);
      }
    });
  });
}

// Loads weights and policy states (EMA's shadow is what evaluate runs) after
// checking the contract; with `everything`, also the optimizer, counters and
// metrics. Returns the stored run identity (null for weights only, or a
// checkpoint that has none).
template <class Trainer>
nlohmann::json read_trainer_checkpoint(Trainer& t, const std::filesystem::path& path, bool everything) {
  auto opened = io::open_checkpoint(path);
  opened.require_contract(t.contract());
  io::read_model(opened, *t.model());
  hana::for_each(t.policies, [&](auto& p) {
    using P = std::remove_cvref_t<decltype(p)>;
    if constexpr (hook::load_state::present<P>) {
      torch::serialize::InputArchive policy_archive;
      if (opened.archive.try_read(policy_state_key(P::name), policy_archive)) p.load_state(policy_archive);
    }
  });
  if (!everything) return nullptr;
  const auto counters = io::read_training_state(opened, t.optimizer());
  auto& c = t.ctx();
  c.epoch = counters.at("epoch");
  c.batch_in_epoch = counters.at("batch_in_epoch");
  c.micro_step = counters.at("micro_step");
  c.global_step = counters.at("global_step");
  c.nonfinite_steps = counters.value("nonfinite_steps", std::int64_t{0});
  if (counters.contains("epoch_loss_so_far")) t.continue_epoch_loss(counters.at("epoch_loss_so_far").template get<std::pair<double, double>>());
  if (!counters.at("metrics").is_null()) {
    const auto& stored = counters.at("metrics");
    std::apply([&](const auto&... f) { ((c.metrics.*(f.member) = stored.at(std::string(f.name)).template get<double>()), ...); },
               std::remove_cvref_t<decltype(c.metrics)>::fields());
    c.validated = true;
  }
  return counters.value("run", nlohmann::json(nullptr));
}

// Throws, listing every difference, unless `here` continues the run `stored`
// describes. A checkpoint without an identity (written before it was kept)
// is not checked.
MIXTRAIN_COLD void require_same_run(const std::filesystem::path& checkpoint, const nlohmann::json& stored,
                             const nlohmann::json& here);

}  // namespace mixtrain::detail

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/core/impl/trainer_state.ipp>
#endif
