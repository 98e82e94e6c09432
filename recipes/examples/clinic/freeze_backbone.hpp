#pragma once
// A user policy, written outside the library: train only the model's head for
// the first K epochs, then the whole model (the usual fine-tuning schedule
// after --init_from). Nothing in mixtrain knows this type; the recipe lists it
// and the trainer checks its hooks' signatures like any library policy's.
//
//   clinic::freeze_backbone<{.epochs = 3, .head = "head"}>   // compact_unet's head
//   clinic::freeze_backbone<{.epochs = 3, .head = "final_layer"}>   // HRNet's
//
// Design. The trainer builds the optimizer from every parameter right after
// prepare_model, and this policy leaves it so: the backbone stays in the
// optimizer's one parameter group, with requires_grad(false) while frozen.
// A parameter without a gradient is skipped by every LibTorch optimizer (no
// step, no weight decay, no moment state), so the frozen weights stay
// bit-identical; at epoch K the policy sets requires_grad(true) again, and the
// optimizer adds the backbone's per-parameter state (AdamW's moments and step
// count) at its first update, exactly what a parameter group added at K would
// start from. Adding a group at K instead was rejected for two reasons:
//   - --resume across epoch K would fail: LibTorch refuses optimizer state
//     whose group count differs, and the checkpoint's optimizer state is
//     loaded before any policy's load_state could add the group first;
//   - learning-rate schedules read each group's base rate at on_model_ready
//     and would never schedule a group born later.
// The frozen/unfrozen state is derived from ctx.epoch at every epoch's start,
// so a resumed run needs no saved state. While frozen, the backbone's
// BatchNorm layers also run in eval mode, so their running statistics stay
// put too (the whole backbone is frozen, not only its weights).
#include <algorithm>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/fields.hpp>
#include <mixtrain/core/hooks.hpp>

namespace clinic {

namespace mt = mixtrain;

struct freeze_backbone_config {
  int epochs = 2;          // K: epochs that train the head only
  char head[32] = "head";  // the head submodule: parameters named "<head>." train from the start

  static constexpr auto fields() {
    using c = freeze_backbone_config;
    return std::tuple{mt::field{&c::epochs, "epochs", mt::flag{"--freeze_epochs", "epochs that train the head only", 0}},
                      mt::field{&c::head, "head"}};
  }
};

template <freeze_backbone_config C = freeze_backbone_config{}>
struct freeze_backbone {
  static_assert(C.epochs >= 0, "freeze_backbone: epochs must not be negative.");
  static_assert(C.head[0] != '\0' && C.head[sizeof(C.head) - 1] == '\0',
                "freeze_backbone: head must name the head submodule, such as \"head\".");

  static constexpr std::string_view name = "freeze_backbone";
  // Opt-in both-ways check: each listed hook must exist, each hook-named member must be listed.
  using hooks = mt::hook_list<mt::hook::add_flags, mt::hook::describe, mt::hook::prepare_model, mt::hook::on_fit_begin,
                              mt::hook::on_epoch_begin>;

  freeze_backbone_config config = C;

  void add_flags(mt::flag_set cli) { mt::add_field_flags(cli, config); }
  [[nodiscard]] nlohmann::json describe() const { return mt::describe_fields(config); }

  // Before the optimizer exists: a head that is not there is a mistake in the recipe.
  void prepare_model(auto& model) {
    for (const auto& p : model->named_parameters(true))
      if (in_head(p.key())) return;
    throw std::invalid_argument("freeze_backbone: the model has no parameter under '" + std::string(config.head) +
                                "'; set .head to the name of its head submodule");
  }

  void on_fit_begin(auto& ctx) { apply(ctx); }
  // Runs before the epoch's first micro-batch, after the last validation put
  // the model back in training mode.
  void on_epoch_begin(auto& ctx) { apply(ctx); }

  [[nodiscard]] bool frozen_at(std::int64_t epoch) const { return epoch < config.epochs; }
  [[nodiscard]] bool in_head(const std::string& parameter_name) const {
    const std::string_view head = config.head;
    return parameter_name.starts_with(head) &&
           (parameter_name.size() == head.size() || parameter_name[head.size()] == '.');
  }

 private:
  void apply(auto& ctx) {
    const bool frozen = frozen_at(ctx.epoch);
    if (frozen_ != frozen)
      *ctx.log << "freeze_backbone: backbone " << (frozen ? "frozen" : "trained") << " from epoch " << ctx.epoch << "\n";
    frozen_ = frozen;
    for (auto& p : ctx.model->named_parameters(true))
      if (!in_head(p.key())) p.value().set_requires_grad(!frozen);
    if (!frozen) return;
    for (auto& child : ctx.model->named_children())
      if (!in_head(child.key())) child.value()->eval();
  }

  std::optional<bool> frozen_;  // as last applied
};

}  // namespace clinic
