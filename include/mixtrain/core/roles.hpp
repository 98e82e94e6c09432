#pragma once
// The roles a recipe composes, as concepts, each with a check that states the
// missing member in a sentence (the offending type is named in the check's
// instantiation). Data sources, tasks and policies are open: any type that
// meets the concept plugs in, from any namespace.
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/data_source.hpp>
#include <mixtrain/core/fields.hpp>
#include <mixtrain/model/model_spec.hpp>

namespace mixtrain {

// What a model reports about itself to the task.
struct model_facts {
  std::string_view name;
  int output_stride = 1;
  std::int64_t in_channels = 1;
  bool global_class_head = false;  // the model can give per-image class logits (build_options::image_classes)
};

// A micro-batch loss as a sum and the count it is a mean over; the loop
// normalises a whole accumulation window by the sum of its counts.
struct loss_terms {
  torch::Tensor sum;
  torch::Tensor count;
};

// A task: what the model predicts for a data source, its loss, evaluation and
// metrics, and the part of the checkpoint contract it owns.
template <class T, class Data>
concept task_for =
    std::default_initializable<T> &&
    requires {
      typename T::metrics_type;
      { T::name } -> std::convertible_to<std::string_view>;
    } && described<typename T::metrics_type> &&
    requires(T& t, const T& ct, const typename Data::target_info& targets, const typename Data::batch_type& b,
             const typename Data::sample_set& set, const model_facts& facts, torch::Device device,
             const torch::Tensor& output) {
      { t.setup(targets, facts) } -> std::same_as<model::build_options>;
      { t.input(b, device) } -> std::same_as<torch::Tensor>;
      { t.to_device(b, device).input } -> std::convertible_to<torch::Tensor>;
      { t.loss(output, t.to_device(b, device)) } -> std::same_as<loss_terms>;
      t.evaluator(set).add(b, output);
      { t.evaluator(set).finish().metrics } -> std::convertible_to<typename T::metrics_type>;
      { ct.contract() } -> std::convertible_to<nlohmann::json>;
      { ct.describe() } -> std::convertible_to<nlohmann::json>;
    };

template <class O>
concept optimizer_spec = std::default_initializable<O> && requires(const O& o, std::vector<torch::Tensor> parameters) {
  typename O::optimizer_type;
  { O::name } -> std::convertible_to<std::string_view>;
  { o.build(parameters) } -> std::same_as<typename O::optimizer_type>;
  { o.describe() } -> std::convertible_to<nlohmann::json>;
};

// A policy: a default-constructible, non-final class with a name (its
// checkpoint state is saved under it). Everything else is optional hooks.
template <class P>
concept policy_spec = std::is_class_v<P> && !std::is_final_v<P> && std::default_initializable<P> && requires {
  { P::name } -> std::convertible_to<std::string_view>;
};

// --- checks with sentences ------------------------------------------------------------

template <class M>
struct check_model {
  static_assert(requires { M::name; }, "model spec: missing `static constexpr std::string_view name`.");
  static_assert(requires { M::output_stride; },
                "model spec: missing `static constexpr int output_stride` (input pixels per output pixel).");
  static_assert(requires(const model::build_options& o) { M::build(o); },
                "model spec: missing `static Holder build(const mt::model::build_options&)`.");
  static constexpr bool ok = model::model_spec<M>;
  static_assert(ok, "model spec: build() must return a module holder whose forward(torch::Tensor) returns a tensor.");
};

template <class T, class D>
struct check_task {
  static_assert(requires { typename T::metrics_type; }, "task: missing `using metrics_type = ...` (a struct of doubles with fields()).");
  static_assert(requires { T::name; }, "task: missing `static constexpr std::string_view name`.");
  static constexpr bool ok = task_for<T, D>;
  static_assert(ok, "task: setup(targets, model_facts), input(batch, device), to_device(batch, device) with .input, "
                    "loss(output, device_batch) -> loss_terms, evaluator(set) with add(batch, output) and "
                    "finish().metrics, contract() const and describe() const are required for this data source "
                    "(core/roles.hpp).");
};

template <class O>
struct check_optimizer {
  static constexpr bool ok = optimizer_spec<O>;
  static_assert(ok, "optimizer spec: needs `using optimizer_type`, `name`, build(std::vector<torch::Tensor>) and "
                    "describe() const, such as mt::optim::adamw<{.lr = 1e-3}>.");
};

}  // namespace mixtrain
