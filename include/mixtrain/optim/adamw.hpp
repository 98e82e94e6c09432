#pragma once
// Optimizer specs: a compiled configuration and a factory for the LibTorch
// optimizer. The learning rate has a flag (--lr) because people sweep it.
// adamw builds foreach_adamw: AdamW's arithmetic and state, updated with
// multi-tensor ops (a few CUDA launches per group, not nine per tensor).
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/fields.hpp>
#include <mixtrain/optim/foreach_adamw.hpp>

namespace mixtrain::optim {

struct adamw_config {
  double lr = 1e-3;
  double weight_decay = 1e-4;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;

  // --lr is the app's flag (every optimizer has one).
  static constexpr auto fields() {
    using c = adamw_config;
    return std::tuple{field{&c::lr, "lr"}, field{&c::weight_decay, "weight_decay"}, field{&c::beta1, "beta1"},
                      field{&c::beta2, "beta2"}, field{&c::eps, "eps"}};
  }
};

template <adamw_config C = adamw_config{}>
struct adamw {
  static_assert(C.lr > 0, "adamw: lr must be positive.");
  static_assert(C.weight_decay >= 0, "adamw: weight_decay must not be negative.");
  static_assert(C.beta1 >= 0 && C.beta1 < 1 && C.beta2 >= 0 && C.beta2 < 1, "adamw: betas must be in [0, 1).");
  using is_optimizer_spec = void;
  using optimizer_type = foreach_adamw;
  static constexpr std::string_view name = "adamw";

  adamw_config config = C;

  [[nodiscard]] optimizer_type build(std::vector<torch::Tensor> parameters) const {
    return optimizer_type(std::move(parameters), torch::optim::AdamWOptions(config.lr)
                                                      .weight_decay(config.weight_decay)
                                                      .betas({config.beta1, config.beta2})
                                                      .eps(config.eps));
  }
  [[nodiscard]] nlohmann::json describe() const {
    auto j = describe_fields(config);
    j["name"] = name;
    return j;
  }
};

struct sgd_config {
  double lr = 1e-2;
  double momentum = 0.9;
  double weight_decay = 0;
  bool nesterov = false;

  static constexpr auto fields() {
    using c = sgd_config;
    return std::tuple{field{&c::lr, "lr"}, field{&c::momentum, "momentum"}, field{&c::weight_decay, "weight_decay"},
                      field{&c::nesterov, "nesterov"}};
  }
};

template <sgd_config C = sgd_config{}>
struct sgd {
  static_assert(C.lr > 0, "sgd: lr must be positive.");
  static_assert(C.momentum >= 0 && C.momentum < 1, "sgd: momentum must be in [0, 1).");
  using is_optimizer_spec = void;
  using optimizer_type = torch::optim::SGD;
  static constexpr std::string_view name = "sgd";

  sgd_config config = C;

  [[nodiscard]] optimizer_type build(std::vector<torch::Tensor> parameters) const {
    return optimizer_type(std::move(parameters), torch::optim::SGDOptions(config.lr)
                                                     .momentum(config.momentum)
                                                     .weight_decay(config.weight_decay)
                                                     .nesterov(config.nesterov));
  }
  [[nodiscard]] nlohmann::json describe() const {
    auto j = describe_fields(config);
    j["name"] = name;
    return j;
  }
};

}  // namespace mixtrain::optim
