#pragma once
// The one object policies see, typed with the recipe's real module, optimizer
// and metrics: counters, the model and optimizer, the current loss, the latest
// validation metrics and the epoch's statistics. Policies take it as `auto&`.
// It cannot be copied or moved (a hook that takes it by value does not
// compile, so a stop request is never lost on a copy).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace mixtrain {

// What the loop measured over the last training epoch.
struct epoch_statistics {
  double train_loss = 0;       // mean micro-batch loss (read back once per epoch)
  std::int64_t images = 0;
  double train_seconds = 0;    // the training part of the epoch
  double wait_seconds = 0;     // of which waiting for data
  double epoch_seconds = 0;    // training + validation
  double learning_rate = 0;    // of the first parameter group, after the epoch
};

// Owner: the trainer, which writes checkpoints and copies the model.
template <class Module, class Optimizer, class Metrics, class Owner>
class basic_context {
 public:
  using module_type = Module;
  using optimizer_type = Optimizer;
  using metrics_type = Metrics;

  basic_context(Module& model_, Optimizer& optimizer_, torch::Device device_, Owner& owner)
      : model(model_), optimizer(optimizer_), device(device_), owner_(owner) {}
  basic_context(const basic_context&) = delete;
  basic_context& operator=(const basic_context&) = delete;

  Module& model;  // the module holder: model->parameters(), model->forward(x)
  Optimizer& optimizer;
  torch::Device device;

  std::int64_t epoch = 0;              // 0-based epoch being run
  std::int64_t epochs = 0;             // planned epochs
  std::int64_t batch_in_epoch = 0;     // index of the micro-batch in this epoch
  std::int64_t batches_per_epoch = 0;  // micro-batches per epoch
  std::int64_t micro_step = 0;         // micro-batches seen in the run
  std::int64_t global_step = 0;        // optimizer updates taken (skipped ones excluded)
  std::int64_t nonfinite_steps = 0;    // optimizer steps skipped for a NaN or inf loss, whole run
  std::int64_t updates_per_epoch = 0;  // optimizer windows per epoch
  std::int64_t window_length = 1;      // micro-batches in the current accumulation window
  bool window_ends = true;             // the current micro-batch ends its window (the optimizer steps after it)
  std::int64_t fit_first_step = 1;     // the global_step of this fit's first update (resumes count on)
  std::chrono::steady_clock::time_point fit_started{};

  torch::Tensor loss;   // the current micro-batch loss, on the device (read it back only when needed)
  Metrics metrics{};    // latest validation
  bool validated = false;
  epoch_statistics statistics;

  // Data parallelism (policy/distributed.hpp sets both): only rank 0 writes
  // files and logs; every rank trains on its own shard.
  int rank = 0;
  int world_size = 1;
  [[nodiscard]] bool writes_files() const { return rank == 0; }

  bool stop_requested = false;
  std::string stop_reason;
  std::filesystem::path output_dir;
  std::ostream* log = &std::cout;

  void request_stop(std::string reason) {
    stop_requested = true;
    stop_reason = std::move(reason);
  }

  // A full checkpoint, written atomically.
  void write_checkpoint(const std::filesystem::path& path) { owner_.save_checkpoint(path); }
  // The model's parameters, listed once when the model was built.
  [[nodiscard]] const std::vector<torch::Tensor>& parameters() const { return owner_.parameters(); }
  // A deep copy of the model: same module type, device and memory layout.
  [[nodiscard]] Module copy_model() { return owner_.copy_model(); }

 private:
  Owner& owner_;
};

}  // namespace mixtrain
