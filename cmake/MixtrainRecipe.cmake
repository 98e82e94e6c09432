# mixtrain_add_recipe(<name> <file.cpp>): compile a recipe into an executable.
# All recipes (and tests) of a project reuse one precompiled header holding
# LibTorch, OpenCV, Hana, CLI11 and nlohmann/json, so torch's parse cost is paid once per build.
include_guard(GLOBAL)

function(mixtrain_precompiled_header_target out_var)
  if(NOT TARGET mixtrain_pch)
    set(src ${CMAKE_BINARY_DIR}/mixtrain_pch.cpp)
    if(NOT EXISTS ${src})
      file(WRITE ${src} "// precompiled-header carrier for mixtrain recipes\n")
    endif()
    add_library(mixtrain_pch STATIC ${src})
    target_link_libraries(mixtrain_pch PUBLIC mixtrain::mixtrain)
    target_precompile_headers(mixtrain_pch PRIVATE
      <torch/torch.h> <opencv2/core.hpp> <opencv2/imgproc.hpp> <opencv2/imgcodecs.hpp>
      <nlohmann/json.hpp> <CLI/CLI.hpp> <boost/hana.hpp>)
  endif()
  set(${out_var} mixtrain_pch PARENT_SCOPE)
endfunction()

function(mixtrain_add_recipe name source)
  mixtrain_precompiled_header_target(pch)
  add_executable(${name} ${source} ${ARGN})
  target_link_libraries(${name} PRIVATE mixtrain::mixtrain)
  target_precompile_headers(${name} REUSE_FROM ${pch})
endfunction()

# mixtrain_add_variants(): one executable per combination of compile-time axes.
include(${CMAKE_CURRENT_LIST_DIR}/MixtrainVariants.cmake)
