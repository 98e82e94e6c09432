#pragma once
// Definitions of the functions declared in <mixtrain/app/omp_probe.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/app/omp_probe.hpp>

namespace mixtrain::app {

MIXTRAIN_COLD void run_omp_probe_if_asked() {
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
