#pragma once
// The one object policies see: counters, the model and optimizer, the current
// loss and the latest validation metrics. No globals.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include <torch/torch.h>

namespace mixtrain {

struct context {
  context(torch::nn::Module& model_, torch::optim::Optimizer& optimizer_, torch::Device device_)
      : model(model_), optimizer(optimizer_), device(device_) {}

  torch::nn::Module& model;
  torch::optim::Optimizer& optimizer;
  torch::Device device;

  std::int64_t epoch = 0;              // 0-based epoch being run
  std::int64_t epochs = 0;             // planned epochs
  std::int64_t batch_in_epoch = 0;     // index of the micro-batch in this epoch
  std::int64_t batches_per_epoch = 0;  // micro-batches per epoch
  std::int64_t micro_step = 0;         // micro-batches seen in the run
  std::int64_t global_step = 0;        // optimizer updates taken (skipped ones excluded)
  std::int64_t updates_per_epoch = 0;  // optimizer windows per epoch
  std::int64_t window_length = 1;      // micro-batches in the current accumulation window

  torch::Tensor loss;      // the current micro-batch loss (what backward sees)
  double loss_value = 0;   // its unscaled value
  std::map<std::string, double> metrics;  // latest validation: val_mre, val_sdr_2mm, ...

  bool stop_requested = false;
  std::string stop_reason;
  std::filesystem::path output_dir;
  std::ostream* log = &std::cout;

  // Implemented by the trainer: write a full checkpoint (atomically) to a path.
  std::function<void(const std::filesystem::path&)> write_checkpoint;
  // Implemented by the trainer: a deep copy of the model (same module type,
  // device and memory layout), e.g. for an EMA shadow.
  std::function<std::shared_ptr<torch::nn::Module>()> copy_model;

  void request_stop(std::string reason) {
    stop_requested = true;
    stop_reason = std::move(reason);
  }
};

}  // namespace mixtrain
