# One place that finds and links mixtrain's dependencies, used by the build tree
# and by the installed package config.
include_guard(GLOBAL)
include(CMakeFindDependencyMacro)
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_dependency(Threads)
find_dependency(Torch)
find_dependency(OpenCV COMPONENTS core imgproc imgcodecs)
find_dependency(Boost)
find_dependency(range-v3)
find_dependency(nlohmann_json)
find_dependency(CLI11)
find_dependency(fmt)

function(mixtrain_link_dependencies target)
  # Imported targets' include directories are SYSTEM for consumers, which keeps
  # OpenCV 4.6 and LibTorch warnings out of -Wall -Wextra builds.
  target_link_libraries(${target} INTERFACE
    ${TORCH_LIBRARIES} opencv_core opencv_imgproc opencv_imgcodecs
    Boost::headers range-v3::range-v3 nlohmann_json::nlohmann_json
    CLI11::CLI11 fmt::fmt Threads::Threads)
endfunction()

# DICOM (DCMTK), for the recipes and tests that include <mixtrain/data/dicom.hpp>
# only: they link mixtrain::dicom; everything else builds without DCMTK. An
# imported INTERFACE target, so that the build tree and the installed package
# (this file is included by mixtrainConfig.cmake) define it the same way.
find_package(DCMTK CONFIG QUIET)
if(DCMTK_FOUND AND TARGET DCMTK::dcmimage AND NOT TARGET mixtrain::dicom)
  add_library(mixtrain::dicom INTERFACE IMPORTED)
  target_link_libraries(mixtrain::dicom INTERFACE
    DCMTK::dcmimage DCMTK::dcmimgle DCMTK::dcmjpeg DCMTK::dcmjpls DCMTK::dcmdata DCMTK::oflog DCMTK::ofstd)
elseif(NOT DCMTK_FOUND)
  message(STATUS "DCMTK not found: no mixtrain::dicom, DICOM images are not read (install libdcmtk-dev)")
endif()

# Data parallelism (mt::policy::distributed, c10d with Gloo): LibTorch's
# ProcessGroupGloo.hpp includes Gloo's own headers (Debian: libgloo-dev).
# Recipes and tests that hold the policy link mixtrain::distributed; nothing
# else includes c10d. Without the headers the target is absent.
find_path(MIXTRAIN_GLOO_INCLUDE_DIR gloo/algorithm.h)
find_library(MIXTRAIN_GLOO_LIBRARY gloo)
if(MIXTRAIN_GLOO_INCLUDE_DIR AND NOT TARGET mixtrain::distributed)
  add_library(mixtrain::distributed INTERFACE IMPORTED)
  if(MIXTRAIN_GLOO_LIBRARY)
    target_link_libraries(mixtrain::distributed INTERFACE ${MIXTRAIN_GLOO_LIBRARY})
  endif()
elseif(NOT MIXTRAIN_GLOO_INCLUDE_DIR)
  message(STATUS "Gloo headers not found: no mixtrain::distributed, no data-parallel recipes (install libgloo-dev)")
endif()
