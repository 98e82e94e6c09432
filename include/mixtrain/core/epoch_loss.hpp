#pragma once
// The epoch's mean training loss, kept on the device (a running sum of the
// finite micro-batch losses and their count) and read back once per epoch.
// A checkpoint written mid-epoch stores the sums so far, so a resumed epoch
// reports the same mean as an uninterrupted one.
#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>

#include <torch/torch.h>

namespace mixtrain {

class epoch_loss {
 public:
  // A new epoch; `resumed` continues the sums a checkpoint stored.
  void start(const torch::Device& device, bool resumed) {
    sum_ = torch::Tensor();
    finite_ = torch::Tensor();
    if (resumed && carried_) {
      sum_ = torch::tensor(static_cast<float>(carried_->first), torch::TensorOptions(device));
      finite_ = torch::tensor(static_cast<std::int64_t>(carried_->second), torch::TensorOptions(device));
    }
    carried_.reset();
  }

  void add(const torch::Tensor& loss) {
    const auto finite = torch::isfinite(loss);
    const auto kept = torch::where(finite, loss, torch::zeros_like(loss));
    sum_ = sum_.defined() ? sum_ + kept : kept;
    finite_ = finite_.defined() ? finite_ + finite : finite.to(torch::kInt64);
  }

  // The one read-back: the mean over finite losses (NaN when none was).
  [[nodiscard]] double mean() const {
    if (!sum_.defined()) return 0.0;
    const auto both = torch::stack({sum_.to(torch::kFloat64), finite_.to(torch::kFloat64)}).cpu();
    const auto count = both[1].item<double>();
    return count > 0 ? both[0].item<double>() / count : std::nan("");
  }

  // Sum and count so far (read back: for checkpoints only), and their restore.
  [[nodiscard]] std::pair<double, double> so_far() const {
    if (!sum_.defined()) return {0.0, 0.0};
    return {sum_.item<double>(), finite_.item<double>()};
  }
  void carry(std::pair<double, double> so_far) { carried_ = so_far; }

 private:
  torch::Tensor sum_;     // float32, like the losses: restoring it is exact
  torch::Tensor finite_;  // int64
  std::optional<std::pair<double, double>> carried_;
};

}  // namespace mixtrain
