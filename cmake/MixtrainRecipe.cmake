# mixtrain_add_recipe(<name> <file.cpp>): compile a recipe into an executable.
# All recipes (and tests) of a project reuse one precompiled header holding
# LibTorch, OpenCV, Hana and nlohmann/json (not CLI11: core/flag_set.hpp), so torch's parse cost is paid once per build.
include_guard(GLOBAL)

# A static library <name> over one generated source, ${CMAKE_BINARY_DIR}/<name>.cpp
# holding TEXT (written once, so a reconfigure rebuilds nothing), linked to mixtrain.
function(_mixtrain_generated_library name text)
  set(src ${CMAKE_BINARY_DIR}/${name}.cpp)
  if(NOT EXISTS ${src})
    file(WRITE ${src} "${text}\n")
  endif()
  add_library(${name} STATIC ${src})
  target_link_libraries(${name} PUBLIC mixtrain::mixtrain)
endfunction()

function(mixtrain_precompiled_header_target out_var)
  if(NOT TARGET mixtrain_pch)
    _mixtrain_generated_library(mixtrain_pch "// precompiled-header carrier for mixtrain recipes")
    target_precompile_headers(mixtrain_pch PRIVATE
      <torch/torch.h> <opencv2/core.hpp> <opencv2/imgproc.hpp> <opencv2/imgcodecs.hpp>
      <nlohmann/json.hpp> <boost/hana.hpp>)
  endif()
  set(${out_var} mixtrain_pch PARENT_SCOPE)
endfunction()

# mixtrain_cold: the functions that are not templates (readers, reports,
# metrics, files; MIXTRAIN_COLD in the headers) compiled once per build. A
# target that links it sees their declarations only, so each recipe no longer
# compiles and optimises them again (docs/architecture.md, "Cold code compiled
# once"); a target that does not link it gets them inline, header-only.
function(mixtrain_use_cold_code target)
  if(NOT TARGET mixtrain_cold)
    mixtrain_precompiled_header_target(pch)
    _mixtrain_generated_library(mixtrain_cold "#include <mixtrain/impl/cold_code.hpp>")
    target_compile_definitions(mixtrain_cold PUBLIC MIXTRAIN_SEPARATE_COMPILATION PRIVATE MIXTRAIN_COMPILING_COLD_CODE)
    target_precompile_headers(mixtrain_cold REUSE_FROM ${pch})
  endif()
  target_link_libraries(${target} PRIVATE mixtrain_cold)
endfunction()

function(mixtrain_add_recipe name source)
  mixtrain_precompiled_header_target(pch)
  add_executable(${name} ${source} ${ARGN})
  target_link_libraries(${name} PRIVATE mixtrain::mixtrain)
  mixtrain_use_cold_code(${name})
  target_precompile_headers(${name} REUSE_FROM ${pch})
endfunction()

# mixtrain_add_variants(): one executable per combination of compile-time axes.
include(${CMAKE_CURRENT_LIST_DIR}/MixtrainVariants.cmake)
