#pragma once
// BatchNorm2d that can normalise over the whole global batch of data-parallel
// training (SyncBatchNorm), for models built from mixtrain's blocks.
//
// `batch_norm_2d` behaves as torch::nn::BatchNorm2d (same options, parameter
// and buffer names, so checkpoints and PyTorch weights load unchanged) with
// one difference: while training, and while the ranks' collectives are
// installed (the distributed policy installs them with --sync_batch_norm),
// its statistics are the mean and variance over every rank's micro-batch,
// its running statistics are updated from those, and its backward sums the
// statistics' gradients over the ranks, so R ranks x batch B normalise and
// learn exactly as one process x batch R*B. Otherwise it is LibTorch's
// BatchNorm, unchanged.
//
// Cost per layer and micro-step, as PyTorch's SyncBatchNorm: one all-reduce
// of R x (2C+1) doubles in forward (each rank's mean, squared deviations and
// pixel count: an all-gather), one of 2C doubles in backward. Every rank
// must run the same layers in the same order (data parallelism does).
// Memory: the input is saved for backward, as LibTorch's BatchNorm does.
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace mixtrain::model {

// What a synchronised BatchNorm needs of data parallelism: this rank, the
// number of ranks, and a sum over the ranks (in place).
struct rank_collectives {
  int rank = 0;
  int world_size = 1;
  std::function<void(torch::Tensor&)> sum;
  explicit operator bool() const { return static_cast<bool>(sum); }
};

// Process-wide, because one process is one rank: empty unless the
// distributed policy runs with --sync_batch_norm.
inline rank_collectives& batch_norm_ranks() {
  static rank_collectives ranks;
  return ranks;
}

// LibTorch's BatchNorm2d, rewritten because deriving from it does not link:
// its base's pretty_print is not exported from libtorch, and a derived
// class's construction vtables name it.
class batch_norm_2dImpl : public torch::nn::Cloneable<batch_norm_2dImpl> {
 public:
  explicit batch_norm_2dImpl(std::int64_t channels) : batch_norm_2dImpl(torch::nn::BatchNormOptions(channels)) {}
  explicit batch_norm_2dImpl(torch::nn::BatchNormOptions options_) : options(std::move(options_)) { reset(); }

  void reset() override {
    const auto channels = options.num_features();
    const bool affine = options.affine(), tracked = options.track_running_stats();
    weight = register_parameter("weight", affine ? torch::ones({channels}) : torch::Tensor(), affine);
    bias = register_parameter("bias", affine ? torch::zeros({channels}) : torch::Tensor(), affine);
    running_mean = register_buffer("running_mean", tracked ? torch::zeros({channels}) : torch::Tensor());
    running_var = register_buffer("running_var", tracked ? torch::ones({channels}) : torch::Tensor());
    num_batches_tracked =
        register_buffer("num_batches_tracked", tracked ? torch::tensor(0, torch::kLong) : torch::Tensor());
  }

  torch::Tensor forward(const torch::Tensor& x);

  void pretty_print(std::ostream& stream) const override {
    stream << "mixtrain::model::batch_norm_2d(" << options.num_features() << ", eps=" << options.eps()
           << ", momentum=" << (options.momentum() ? std::to_string(*options.momentum()) : "None")
           << ", affine=" << options.affine() << ", track_running_stats=" << options.track_running_stats() << ")";
  }

  torch::nn::BatchNormOptions options;
  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;
};
TORCH_MODULE(batch_norm_2d);

namespace batch_norm_detail {

// Per-channel values as (1, C, 1, 1) in `like`'s dtype, to broadcast over it.
inline torch::Tensor per_channel(const torch::Tensor& values, const torch::Tensor& like) {
  return values.to(like.scalar_type()).view({1, values.size(0), 1, 1});
}

// Forward and backward written out (as PyTorch's SyncBatchNorm), so that
// only the input is saved and each direction needs one collective.
struct synced_function : torch::autograd::Function<synced_function> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias, batch_norm_2dImpl* bn,
                               const rank_collectives* ranks) {
    const auto channels = x.size(1);
    const std::vector<std::int64_t> reduced{0, 2, 3};
    const auto local_count = static_cast<double>(x.numel() / channels);
    // This rank's mean and squared deviations around it (two passes, so a
    // large mean costs no digits), gathered from every rank by one sum.
    const auto local_mean = x.sum(reduced, false, torch::kFloat64) / local_count;
    const auto local_m2 = (x - per_channel(local_mean, x)).square().sum(reduced, false, torch::kFloat64);
    auto rows = torch::zeros({ranks->world_size, 2 * channels + 1}, x.options().dtype(torch::kFloat64));
    rows[ranks->rank].copy_(torch::cat({local_mean, local_m2, torch::full({1}, local_count, rows.options())}));
    ranks->sum(rows);
    // Chan et al.'s combination of the ranks' means and squared deviations.
    const auto counts = rows.slice(1, 2 * channels);  // (R, 1)
    const auto count = counts.sum();
    const auto means = rows.slice(1, 0, channels);
    const auto mean = (means * counts).sum(0) / count;
    const auto m2 = (rows.slice(1, channels, 2 * channels) + counts * (means - mean).square()).sum(0);
    const auto variance = m2 / count;
    const auto inverse_std = (variance + bn->options.eps()).rsqrt();
    if (bn->options.track_running_stats()) {
      bn->num_batches_tracked.add_(1);
      const double factor = bn->options.momentum() ? *bn->options.momentum()
                                                   : 1.0 / bn->num_batches_tracked.item<double>();
      const auto unbiased = m2 / (count - 1).clamp_min(1);
      bn->running_mean.mul_(1 - factor).add_(mean.to(bn->running_mean.scalar_type()), factor);
      bn->running_var.mul_(1 - factor).add_(unbiased.to(bn->running_var.scalar_type()), factor);
    }
    const auto scale = weight.defined() ? inverse_std * weight.to(torch::kFloat64) : inverse_std;
    auto y = (x - per_channel(mean, x)).mul_(per_channel(scale, x));
    if (bias.defined()) y.add_(per_channel(bias, x));
    ctx->save_for_backward({x, weight});
    ctx->saved_data["mean"] = mean;
    ctx->saved_data["inverse_std"] = inverse_std;
    ctx->saved_data["count"] = count;
    ctx->saved_data["ranks"] = reinterpret_cast<std::int64_t>(ranks);
    ctx->saved_data["bias"] = bias.defined();
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list gradients) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& weight = saved[1];
    const auto mean = ctx->saved_data["mean"].toTensor();
    const auto inverse_std = ctx->saved_data["inverse_std"].toTensor();
    const auto count = ctx->saved_data["count"].toTensor();
    const auto* ranks = reinterpret_cast<const rank_collectives*>(ctx->saved_data["ranks"].toInt());
    const auto& dy = gradients[0];
    const std::vector<std::int64_t> reduced{0, 2, 3};
    const auto normalised = (x - per_channel(mean, x)).mul_(per_channel(inverse_std, x));
    const auto sum_dy = dy.sum(reduced, false, torch::kFloat64);
    const auto sum_dy_normalised = (dy * normalised).sum(reduced, false, torch::kFloat64);
    // This rank's share of the weight and bias gradients: the data-parallel
    // gradient sum adds the ranks' shares, as for any other parameter.
    const auto grad_weight = weight.defined() ? sum_dy_normalised.to(weight.scalar_type()) : torch::Tensor();
    const auto grad_bias = ctx->saved_data["bias"].toBool() ? sum_dy.to(dy.scalar_type()) : torch::Tensor();
    auto totals = torch::cat({sum_dy, sum_dy_normalised});
    ranks->sum(totals);
    const auto channels = mean.size(0);
    const auto mean_dy = totals.slice(0, 0, channels) / count;
    const auto mean_dy_normalised = totals.slice(0, channels) / count;
    const auto scale = weight.defined() ? inverse_std * weight.to(torch::kFloat64) : inverse_std;
    auto grad_x = (dy - per_channel(mean_dy, dy)) - normalised.mul_(per_channel(mean_dy_normalised, dy));
    grad_x.mul_(per_channel(scale, dy));
    return {grad_x, grad_weight, grad_bias, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace batch_norm_detail

// Training-mode BatchNorm of `x` (N, C, H, W) with `bn`'s affine parameters,
// its statistics taken over the ranks of `ranks`; updates `bn`'s running
// statistics as torch::nn::BatchNorm2d does (unbiased variance, momentum, or
// a cumulative average when the momentum is unset).
inline torch::Tensor synced_batch_norm(const torch::Tensor& x, batch_norm_2dImpl& bn, const rank_collectives& ranks) {
  TORCH_CHECK(x.dim() == 4, "batch_norm_2d: expected a 4-D input (N, C, H, W), got ", x.dim(), "-D");
  TORCH_CHECK(x.numel() > 0, "batch_norm_2d: an empty batch cannot be normalised over the ranks");
  return batch_norm_detail::synced_function::apply(x, bn.weight, bn.bias, &bn, &ranks);
}

// Outside training, or without the ranks' collectives, exactly LibTorch's BatchNorm.
inline torch::Tensor batch_norm_2dImpl::forward(const torch::Tensor& x) {
  if (is_training() && batch_norm_ranks()) return synced_batch_norm(x, *this, batch_norm_ranks());  // checks x itself
  TORCH_CHECK(x.dim() == 4, "batch_norm_2d: expected a 4-D input (N, C, H, W), got ", x.dim(), "-D");
  double factor = 0;
  if (is_training() && options.track_running_stats()) {
    num_batches_tracked.add_(1);
    factor = options.momentum() ? *options.momentum() : 1.0 / num_batches_tracked.item<double>();
  }
  return torch::batch_norm(x, weight, bias, running_mean, running_var, is_training() || !options.track_running_stats(),
                           factor, options.eps(), at::globalContext().userEnabledCuDNN());
}

// What data parallelism with --sync_batch_norm finds in a model: the layers
// that will synchronise, and the first of LibTorch's own BatchNorm layers,
// which cannot ("" when there is none).
struct batch_norm_census {
  int synchronised = 0;
  std::string first_plain;
};
inline batch_norm_census count_batch_norms(const torch::nn::Module& model, const std::string& prefix = "model") {
  batch_norm_census census;
  for (const auto& item : model.named_modules(prefix)) {
    const auto& module = item.value();
    if (std::dynamic_pointer_cast<batch_norm_2dImpl>(module)) ++census.synchronised;
    else if (census.first_plain.empty() && (std::dynamic_pointer_cast<torch::nn::BatchNorm1dImpl>(module) ||
                                            std::dynamic_pointer_cast<torch::nn::BatchNorm2dImpl>(module) ||
                                            std::dynamic_pointer_cast<torch::nn::BatchNorm3dImpl>(module)))
      census.first_plain = item.key();
  }
  return census;
}

}  // namespace mixtrain::model
