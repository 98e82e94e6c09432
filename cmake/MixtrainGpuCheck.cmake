# The gpu-check configuration (-DMIXTRAIN_GPU_CHECK=ON, used by scripts/gpu-check):
# the GPU step bench (benchmarks/gpu) and the GPU tests (tests/gpu) alone, for a
# machine that has LibTorch -- a Python torch's, usually with CUDA -- but none of
# the header-only dependencies. Those come from MIXTRAIN_DEPS_DIR, a folder that
# `scripts/gpu-check --prepare-deps DIR` fills on a machine that has them with
# the headers these targets include. OpenCV, DCMTK, Gloo and the fmt library are
# not needed: fmt is used header-only (FMT_HEADER_ONLY).
include_guard(GLOBAL)

# MIXTRAIN_WITH_CUDA on <target> when this LibTorch was built with CUDA, so the
# CUDA-only code (the caching allocator's statistics) is compiled there and a
# CPU LibTorch never sees a CUDA header. TorchConfig fills TORCH_CUDA_LIBRARIES
# (c10_cuda among them) only for a CUDA build.
function(mixtrain_use_cuda_if_built target)
  if(TORCH_CUDA_LIBRARIES OR TARGET torch_cuda)
    target_compile_definitions(${target} PRIVATE MIXTRAIN_WITH_CUDA)
  endif()
endfunction()

# NCCL's nccl.h, which a Python torch's ProcessGroupNCCL.hpp includes but
# which lives in the nvidia-nccl wheel beside it (scripts/gpu-check finds
# it); without it the NCCL test fails, naming what is missing.
set(MIXTRAIN_NCCL_INCLUDE_DIR "" CACHE PATH "folder holding nccl.h (a Python torch's nvidia/nccl/include)")

set(MIXTRAIN_DEPS_DIR "" CACHE PATH "header-only dependencies prepared by scripts/gpu-check --prepare-deps")
if(NOT EXISTS "${MIXTRAIN_DEPS_DIR}/mixtrain-deps.txt")
  message(FATAL_ERROR "MIXTRAIN_GPU_CHECK: -DMIXTRAIN_DEPS_DIR must name a folder made by "
                      "scripts/gpu-check --prepare-deps (no mixtrain-deps.txt in '${MIXTRAIN_DEPS_DIR}')")
endif()

set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)
find_package(Torch REQUIRED)
if(TORCH_CUDA_LIBRARIES OR TARGET torch_cuda)
  message(STATUS "gpu-check: LibTorch ${Torch_VERSION} with CUDA")
else()
  message(STATUS "gpu-check: LibTorch ${Torch_VERSION} without CUDA (a dry run: the GPU code is not compiled)")
endif()

add_library(mixtrain INTERFACE)
add_library(mixtrain::mixtrain ALIAS mixtrain)
target_include_directories(mixtrain INTERFACE ${CMAKE_CURRENT_SOURCE_DIR}/include)
# BEFORE: the carried copies win over any other copy on the include path.
target_include_directories(mixtrain SYSTEM BEFORE INTERFACE ${MIXTRAIN_DEPS_DIR})
target_compile_definitions(mixtrain INTERFACE FMT_HEADER_ONLY)
target_compile_features(mixtrain INTERFACE cxx_std_20)
target_link_libraries(mixtrain INTERFACE ${TORCH_LIBRARIES} Threads::Threads)

add_subdirectory(benchmarks/gpu)
add_subdirectory(tests/gpu)
