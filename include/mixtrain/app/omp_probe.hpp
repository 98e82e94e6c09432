#pragma once
// The workload of the OpenMP spin-count measurement (app/omp_spin_measurement.hpp):
// forward and backward through three 3x3 convolutions (32 channels, 2x32x128x128),
// many short parallel regions as in a training step, whatever the recipe's model
// (HRNet-W32's own step takes over a second even at 64x64). A child process
// started with MIXTRAIN_OMP_PROBE=1 runs it, prints the median iteration in
// the bench step JSON form and exits.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <vector>

#include <torch/torch.h>

namespace mixtrain::app {

inline void run_omp_probe_if_asked() {
  if (std::getenv("MIXTRAIN_OMP_PROBE") == nullptr) return;
  torch::manual_seed(0);
  torch::nn::Sequential net(torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 32, 3).padding(1)), torch::nn::ReLU(),
                            torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 32, 3).padding(1)), torch::nn::ReLU(),
                            torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 32, 3).padding(1)));
  const auto input = torch::randn({2, 32, 128, 128});
  std::vector<double> times;
  for (int i = 0; i < 15; ++i) {
    const auto start = std::chrono::steady_clock::now();
    net->forward(input).square().mean().backward();
    if (i >= 3) times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(times.begin(), times.begin() + static_cast<long>(times.size() / 2), times.end());
  std::cout << "{\"bench\": \"omp_probe\", \"median_step_s\": " << times[times.size() / 2] << "}" << std::endl;
  std::exit(0);
}

}  // namespace mixtrain::app
