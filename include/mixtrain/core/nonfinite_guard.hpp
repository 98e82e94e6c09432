#pragma once
// Skips optimizer steps whose accumulation window saw a NaN or inf loss. The
// check stays on the device while the window runs (a logical AND of
// isfinite over its micro-batch losses) and is read back once, when the
// window ends, before the step: one read-back per optimizer step, none per
// micro-batch. After `limit` bad windows in a row the run should stop.
// A skipped window must not leave a trace: a NaN forward pass in training mode
// also writes NaN into BatchNorm's running statistics, so the module's buffers
// are copied (on the device, without a read-back) when a window begins and
// copied back when it turns out bad. Buffers are small beside the weights.
#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace mixtrain {

class nonfinite_guard {
 public:
  explicit nonfinite_guard(int limit = 0) : limit_(limit) {}

  // The module's buffers, kept as they were when each window began.
  void protect(std::vector<torch::Tensor> buffers) {
    buffers_ = std::move(buffers);
    saved_.clear();
    for (const auto& b : buffers_) saved_.push_back(torch::empty_like(b));
  }
  void window_begins() {
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < buffers_.size(); ++i) saved_[i].copy_(buffers_[i]);
  }

  // A micro-batch's loss (a scalar on the device); nothing is read back.
  void add(const torch::Tensor& loss) {
    const auto finite = torch::isfinite(loss.detach());
    window_finite_ = window_finite_.defined() ? window_finite_.logical_and(finite) : finite;
  }

  // At the window end: true when every loss of the window was finite (the
  // one read-back); a bad window counts toward the consecutive limit.
  [[nodiscard]] bool window_is_finite() { return conclude(window_finite_here()); }

  // The same in two parts, for data parallelism: this process's verdict (the
  // read-back), then the verdict all ranks agreed on.
  [[nodiscard]] bool window_finite_here() {
    const bool finite = !window_finite_.defined() || window_finite_.item<bool>();
    window_finite_ = torch::Tensor();
    return finite;
  }
  bool conclude(bool finite) {
    consecutive_ = finite ? 0 : consecutive_ + 1;
    if (!finite) {
      torch::NoGradGuard no_grad;
      for (std::size_t i = 0; i < buffers_.size(); ++i) buffers_[i].copy_(saved_[i]);
    }
    return finite;
  }

  // `limit` bad windows in a row (never when the limit is 0).
  [[nodiscard]] bool exhausted() const { return limit_ > 0 && consecutive_ >= limit_; }
  [[nodiscard]] int consecutive() const { return consecutive_; }
  [[nodiscard]] int limit() const { return limit_; }

 private:
  int limit_;
  int consecutive_ = 0;
  torch::Tensor window_finite_;
  std::vector<torch::Tensor> buffers_, saved_;
};

}  // namespace mixtrain
