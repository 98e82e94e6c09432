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
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::app {

MIXTRAIN_COLD void run_omp_probe_if_asked();

}  // namespace mixtrain::app

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/app/impl/omp_probe.ipp>
#endif
