#pragma once
// Data-parallel training on LibTorch's c10d (Gloo on the CPU, NCCL on CUDA
// devices, core/distributed_group.hpp): one process per rank,
// each on its own shard of every epoch (the loop passes the rank to the data
// source), the same weights everywhere. This policy
//   - joins the group when WORLD_SIZE is set (torchrun's variables), or
//     starts the ranks itself with --nproc N (core/distributed_launch.hpp);
//     --multi_gpu starts one rank per local GPU, and a rank whose --device
//     is "cuda" trains on cuda:LOCAL_RANK (choose_devices, from app/cli.hpp);
//   - broadcasts rank 0's parameters and buffers once the model is built
//     (a --resume or --init_from then loads the same file on every rank);
//   - during the last backward of each accumulation window (never on the
//     micro-steps before it) sums the gradients over the ranks in buckets,
//     each started from an autograd hook as soon as its gradients are final,
//     so the communication overlaps the rest of backward; the loop then
//     divides them by the whole global window's present-landmark count, the
//     accumulation rule, so R ranks x batch B equal one process x batch R*B;
//   - makes a NaN/inf loss, a SIGINT/SIGTERM or a stop request on any rank
//     count on all, at the same window (or epoch end);
//   - silences every rank but 0: only rank 0 logs and writes files;
//   - sums validation's per-image state over the ranks (sum_over_ranks), so
//     each rank scores only its shard of the validation split.
// BatchNorm: with --sync_batch_norm, mixtrain's batch_norm_2d layers
// normalise over every rank's micro-batch (model/batch_norm.hpp), so R ranks
// x batch B train exactly as one process x batch R*B; LibTorch's own
// BatchNorm layers are then refused. Without it each rank normalises its own
// micro-batch and the running statistics drift apart until each validation
// averages them (docs/distributed.md).
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <optional>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/distributed_group.hpp>
#include <mixtrain/core/distributed_launch.hpp>
#include <mixtrain/core/fields.hpp>
#include <mixtrain/core/flag_set.hpp>
#include <mixtrain/core/hooks.hpp>
#include <mixtrain/model/batch_norm.hpp>
#include <mixtrain/policy/distributed_config.hpp>

namespace mixtrain::policy {

namespace distributed_detail {
struct null_buffer : std::streambuf {
  int overflow(int c) override { return c; }
};
struct null_stream : std::ostream {
  null_stream() : std::ostream(&buffer) {}
  null_buffer buffer;
};
}  // namespace distributed_detail

struct distributed {
  static constexpr std::string_view name = "distributed";
  static constexpr std::string_view exclusive = "distributed";
  using config_type = distributed_config;

  config_type config;

  void add_flags(flag_set cli) { add_field_flags(cli, config); }
  [[nodiscard]] nlohmann::json describe() const {
    auto j = describe_fields(config);
    j["gradients"] = "summed over the ranks in buckets started from autograd hooks during the window's last backward";
    j["batch_norm"] = config.sync_batch_norm
                          ? "synchronised: batch_norm_2d statistics over every rank's micro-batch"
                          : "per-rank statistics, averaged over the ranks before each validation";
    j["validation"] = "each rank scores its shard; the per-image sums are added over the ranks";
    return j;
  }

  // --nproc N (N > 1) outside a distributed environment: this process starts
  // the ranks and waits for them instead of training (app/commands.hpp).
  [[nodiscard]] std::optional<int> launch_ranks() const {
    if (config.nproc <= 1 || std::getenv("WORLD_SIZE") != nullptr) return std::nullopt;
    return mixtrain::distributed::launch_local_ranks(config.nproc, config.master_port, config.timeout_s);
  }

  // --multi_gpu and the device of each rank, before anything is built
  // (app/cli.hpp): --multi_gpu means one rank per local GPU (the --nproc
  // launcher starts them, each re-running this with WORLD_SIZE set), and a
  // rank of a run on "cuda" trains on cuda:LOCAL_RANK, as torchrun's ranks
  // expect. Returns why --multi_gpu cannot be served here, or "" when it can.
  std::string choose_devices(std::string& device, bool multi_gpu, int visible_gpus) {
    if (multi_gpu) {
      if (visible_gpus == 0) return "";  // the caller's refusal names the missing GPU
      if (!mixtrain::distributed::nccl_built()) return mixtrain::distributed::nccl_unavailable_reason();
      device = "cuda";
      if (std::getenv("WORLD_SIZE") == nullptr) config.nproc = visible_gpus;
    }
    if (device == "cuda") {
      if (const auto env = mixtrain::distributed::rank_environment::from_environment(); env && env->world_size > 1)
        device = "cuda:" + std::to_string(env->local_rank);
    }
    return "";
  }

  // Right after the model is built: the rank decides who logs and writes,
  // and rank 0's initial parameters and buffers reach every rank, whatever
  // the order of the recipe's policies (EMA's on_fit_begin then copies the
  // same weights everywhere). A --resume or --init_from loads the same file
  // on every rank afterwards.
  void on_model_ready(auto& ctx) {
    const auto env = mixtrain::distributed::rank_environment::from_environment();
    if (!env || env->world_size == 1) return;
    group_ = std::make_shared<mixtrain::distributed::process_group>(*env, std::chrono::seconds(config.timeout_s),
                                                                     ctx.device);
    ctx.rank = env->rank;
    ctx.world_size = env->world_size;
    if (ctx.rank != 0) ctx.log = &silent_->stream;
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> tensors;
    for (const auto& p : ctx.model->parameters()) tensors.push_back(p);
    for (const auto& b : ctx.model->buffers()) tensors.push_back(b);
    auto flat = flatten_by_type(tensors);
    group_->broadcast_from_zero(flat.buffers, "the broadcast of rank 0's weights");
    flat.copy_back(tensors);
  }

  void on_fit_begin(auto& ctx) {
    if (!group_) return;
    plan_buckets(ctx.parameters());
    *ctx.log << fmt::format("distributed: {} ranks ({}), rank 0's initial weights broadcast; each rank trains on "
                              "its shard and validates its shard of the validation split\n",
                              ctx.world_size, group_->backend_name());
    if (config.sync_batch_norm) synchronise_batch_norm(*ctx.model, *ctx.log);
  }

  // Validation's sums and the BatchNorm statistics (core/trainer.hpp): a host
  // tensor summed in place, through the group's device (NCCL sums device
  // tensors). Once per validation, so the copies do not matter.
  void sum_over_ranks(auto&, torch::Tensor& values) {
    if (group_) group_->sum_through_device(values, "the validation's sum over the ranks");
  }

  // Before the window's last backward: the hooks start the buckets.
  void scale_loss(auto& ctx, torch::Tensor&) {
    if (!group_ || !ctx.window_ends) return;
    armed_ = true;
    for (auto& b : buckets_) {
      b.pending = b.members.size();
      b.started = false;
    }
    std::fill(ready_.begin(), ready_.end(), false);
  }

  void synchronise(auto&, rank_agreement& a) {
    if (!group_) return;
    const auto started = std::chrono::steady_clock::now();
    torch::NoGradGuard no_grad;
    // count, non-finite, SIGTERM, SIGINT, stop: summed, so any rank's counts.
    auto header = torch::zeros({5}, torch::kFloat64);
    auto h = header.accessor<double, 1>();
    h[0] = a.count.defined() ? a.count.item<double>() : 0.0;
    h[1] = a.finite ? 0 : 1;
    h[2] = a.signal == SIGTERM ? 1 : 0;
    h[3] = a.signal != 0 && a.signal != SIGTERM ? 1 : 0;
    h[4] = a.stop ? 1 : 0;
    const char* what = a.window_end ? "the gradient all-reduce" : "the epoch-end agreement";
    if (a.window_end) {
      for (const auto& b : buckets_) hook_started_ += armed_ && b.started ? 1 : 0;
      buckets_total_ += static_cast<std::int64_t>(buckets_.size());
      // Buckets whose hooks did not all fire (a parameter without a gradient
      // in this backward) are completed from .grad, in bucket order.
      for (std::size_t b = 0; b < buckets_.size(); ++b)
        if (!armed_ || !buckets_[b].started) {
          for (const auto i : buckets_[b].members)
            if (!armed_ || !ready_[i]) fill_slot(i, params_[i].grad().defined() ? params_[i].grad() : torch::Tensor(), false);
          start(b);
        }
    }
    armed_ = false;
    // NCCL sums device tensors only; its wait() orders the stream, and the
    // blocking copy back below then waits for the sum (Gloo: the same tensor).
    auto wire = header.to(group_->device());
    group_->start_sum(wire, what);
    group_->wait_started(what);
    if (!wire.is_same(header)) header.copy_(wire);
    if (a.window_end)
      for (std::size_t i = 0; i < params_.size(); ++i)
        if (params_[i].grad().defined()) params_[i].mutable_grad().copy_(slot(i).view(params_[i].sizes()));
    // (the sums are in place: `h` reads them)
    if (a.count.defined()) a.count = torch::full({}, h[0], a.count.options());
    a.finite = h[1] == 0;
    a.signal = h[2] > 0 ? SIGTERM : h[3] > 0 ? SIGINT : 0;
    a.stop = h[4] > 0;
    if (a.window_end) {
      sync_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      ++sync_steps_;
    }
  }

  void on_fit_end(auto& ctx) {
    batch_norm_sum_.reset();
    if (!group_ || sync_steps_ == 0) return;
    *ctx.log << fmt::format("distributed: gradient all-reduce {:.2f} ms per optimizer step on average after backward "
                            "({} steps, {} ranks); {} of {} buckets started during backward\n",
                            1e3 * sync_seconds_ / static_cast<double>(sync_steps_), sync_steps_, ctx.world_size,
                            hook_started_, buckets_total_)
             << std::flush;
  }

  // The seconds per window end spent in synchronise (bench and tests).
  [[nodiscard]] double sync_seconds_per_step() const { return sync_steps_ ? sync_seconds_ / static_cast<double>(sync_steps_) : 0.0; }

 private:
  // --sync_batch_norm: every batch_norm_2d sums its statistics over the
  // ranks until the fit ends. LibTorch's BatchNorm layers cannot, so a model
  // holding one is refused rather than trained half-synchronised.
  void synchronise_batch_norm(torch::nn::Module& model, std::ostream& log) {
    const auto census = mixtrain::model::count_batch_norms(model);
    if (!census.first_plain.empty())
      throw std::runtime_error(fmt::format(
          "--sync_batch_norm: {} is LibTorch's BatchNorm, which cannot normalise over the ranks; build the model's "
          "BatchNorm layers with mixtrain::model::batch_norm_2d (mixtrain/model/batch_norm.hpp)",
          census.first_plain));
    auto group = group_;
    mixtrain::model::batch_norm_ranks() = {group_->rank(), group_->size(), [group](torch::Tensor& values) {
                                             group->sum_through_device(values, "a synchronised BatchNorm's statistics");
                                           }};
    batch_norm_sum_ = std::make_shared<installed_batch_norm_sum>();
    log << fmt::format("distributed: {} BatchNorm layers normalise over all {} ranks' micro-batches\n", census.synchronised,
                       group_->size());
  }
  // Uninstalls the rank sum when the last copy of the policy lets it go.
  struct installed_batch_norm_sum {
    installed_batch_norm_sum() = default;
    installed_batch_norm_sum(const installed_batch_norm_sum&) = delete;
    installed_batch_norm_sum& operator=(const installed_batch_norm_sum&) = delete;
    ~installed_batch_norm_sum() { mixtrain::model::batch_norm_ranks() = {}; }
  };

  // Tensors of one dtype, concatenated; `copy_back` writes them back.
  struct flat_tensors {
    std::vector<torch::Tensor> buffers;
    std::vector<std::size_t> which;  // tensor i lives in buffers[which[i]]
    void copy_back(std::vector<torch::Tensor>& tensors) const {
      std::vector<std::int64_t> offset(buffers.size(), 0);
      for (std::size_t i = 0; i < tensors.size(); ++i) {
        const auto n = tensors[i].numel();
        tensors[i].copy_(buffers[which[i]].slice(0, offset[which[i]], offset[which[i]] + n).view(tensors[i].sizes()));
        offset[which[i]] += n;
      }
    }
  };
  static flat_tensors flatten_by_type(const std::vector<torch::Tensor>& tensors) {
    flat_tensors out;
    std::vector<torch::ScalarType> types;
    std::vector<std::vector<torch::Tensor>> parts;
    for (const auto& t : tensors) {
      const auto found = std::find(types.begin(), types.end(), t.scalar_type());
      const auto index = static_cast<std::size_t>(found - types.begin());
      if (found == types.end()) {
        types.push_back(t.scalar_type());
        parts.emplace_back();
      }
      parts[index].push_back(t.reshape(-1));
      out.which.push_back(index);
    }
    for (const auto& p : parts) out.buffers.push_back(torch::cat(p));
    return out;
  }

  // Buckets of about bucket_mb MiB in reverse parameter order (backward
  // finishes the last layers first), each one flat tensor.
  struct bucket_plan {
    std::vector<std::size_t> members;  // parameter indices
    torch::Tensor flat;
    std::size_t pending = 0;
    bool started = false;
  };
  void plan_buckets(const std::vector<torch::Tensor>& parameters) {
    if (!params_.empty()) return;  // a second fit of the same trainer: hooks already in place
    params_ = parameters;
    const auto limit = static_cast<std::int64_t>(config.bucket_mb * (1 << 20));
    place_.assign(params_.size(), {0, 0});
    ready_.assign(params_.size(), false);
    std::int64_t bytes = 0, offset = 0;
    for (std::size_t k = params_.size(); k-- > 0;) {
      if (buckets_.empty() || bytes >= limit) {
        finish_bucket(offset);
        buckets_.emplace_back();
        bytes = offset = 0;
      }
      buckets_.back().members.push_back(k);
      place_[k] = {buckets_.size() - 1, offset};
      offset += params_[k].numel();
      bytes += params_[k].numel() * static_cast<std::int64_t>(params_[k].element_size());
    }
    finish_bucket(offset);
    for (std::size_t k = 0; k < params_.size(); ++k)
      params_[k].register_hook([this, k](const torch::Tensor& grad) { gradient_ready(k, grad); });
  }
  void finish_bucket(std::int64_t elements) {
    if (!buckets_.empty()) buckets_.back().flat = torch::zeros({elements}, params_.front().options().requires_grad(false));
  }
  [[nodiscard]] torch::Tensor slot(std::size_t k) const {
    const auto [b, offset] = place_[k];
    return buckets_[b].flat.slice(0, offset, offset + params_[k].numel());
  }
  // This window's whole gradient of parameter k into its slot: the incoming
  // one plus what earlier micro-batches accumulated in .grad.
  void fill_slot(std::size_t k, const torch::Tensor& incoming, bool add_accumulated) {
    torch::NoGradGuard no_grad;
    auto target = slot(k).view(params_[k].sizes());
    if (incoming.defined()) target.copy_(incoming);
    else target.zero_();
    if (add_accumulated && params_[k].grad().defined()) target.add_(params_[k].grad());
  }
  // The autograd hook: runs as parameter k's gradient of this backward is
  // final, before it is accumulated into .grad.
  void gradient_ready(std::size_t k, const torch::Tensor& grad) {
    if (!armed_ || ready_[k]) return;
    ready_[k] = true;
    fill_slot(k, grad, true);
    auto& b = buckets_[place_[k].first];
    if (--b.pending == 0) start(place_[k].first);
  }
  void start(std::size_t b) {
    buckets_[b].started = true;
    group_->start_sum(buckets_[b].flat, "the gradient all-reduce");
  }

  std::shared_ptr<mixtrain::distributed::process_group> group_;
  std::shared_ptr<installed_batch_norm_sum> batch_norm_sum_;
  struct silent_log {
    distributed_detail::null_stream stream;
  };
  std::shared_ptr<silent_log> silent_ = std::make_shared<silent_log>();
  std::vector<torch::Tensor> params_;  // the context's list, in its order on every rank
  std::vector<bucket_plan> buckets_;
  std::vector<std::pair<std::size_t, std::int64_t>> place_;  // parameter -> (bucket, offset)
  std::vector<bool> ready_;                                  // its hook fired in this armed backward
  bool armed_ = false;
  std::int64_t hook_started_ = 0, buckets_total_ = 0;  // buckets started by a hook, of all (the log)
  double sync_seconds_ = 0;
  std::int64_t sync_steps_ = 0;
};

}  // namespace mixtrain::policy
