# mixtrain_add_recipe(<name> <file.cpp>): compile a recipe into an executable.
# Tests and mixtrain_cold reuse one precompiled header holding LibTorch, OpenCV,
# Hana and nlohmann/json (not CLI11: core/flag_set.hpp), so torch's parse cost is
# paid once per build; recipes reuse a second one that also holds
# <mixtrain/mixtrain.hpp> as recipes see it (declarations of the cold code only).
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

# The third-party headers both precompiled headers hold.
set(_MIXTRAIN_THIRD_PARTY_PCH_HEADERS
    <torch/torch.h> <opencv2/core.hpp> <opencv2/imgproc.hpp> <opencv2/imgcodecs.hpp>
    <nlohmann/json.hpp> <boost/hana.hpp>)

function(mixtrain_precompiled_header_target out_var)
  if(NOT TARGET mixtrain_pch)
    _mixtrain_generated_library(mixtrain_pch "// precompiled-header carrier for mixtrain recipes")
    target_precompile_headers(mixtrain_pch PRIVATE ${_MIXTRAIN_THIRD_PARTY_PCH_HEADERS})
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

# The recipes' precompiled header: the one above plus <mixtrain/mixtrain.hpp>,
# built with the definitions a recipe is compiled with (MIXTRAIN_SEPARATE_COMPILATION),
# so a recipe's own translation unit parses nothing but itself (here the mixtrain
# headers took 7.4 s to parse; the larger header loads 1.8 s slower).
function(mixtrain_recipe_precompiled_header_target out_var)
  if(NOT TARGET mixtrain_recipe_pch)
    _mixtrain_generated_library(mixtrain_recipe_pch "// precompiled-header carrier for mixtrain recipes")
    mixtrain_use_cold_code(mixtrain_recipe_pch)
    _mixtrain_recipe_optimisation(mixtrain_recipe_pch)
    target_precompile_headers(mixtrain_recipe_pch PRIVATE ${_MIXTRAIN_THIRD_PARTY_PCH_HEADERS} <mixtrain/mixtrain.hpp>)
  endif()
  set(${out_var} mixtrain_recipe_pch PARENT_SCOPE)
endfunction()

# A recipe's own translation unit is glue: the per-pixel and per-element work
# runs in LibTorch, OpenCV and mixtrain_cold, compiled at the build type's
# level. At -O1 it compiles about a fifth faster and the training step and the
# data pipeline measured the same as at -O3 (docs/benchmarks.md, "One recipe's
# build"). Empty: the build type's flags. Only for optimised build types.
set(MIXTRAIN_RECIPE_OPTIMIZATION "-O1" CACHE STRING
    "optimisation flag of recipe translation units in optimised builds (empty: the build type's)")
function(_mixtrain_recipe_optimisation target)
  if(MIXTRAIN_RECIPE_OPTIMIZATION AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE
      "$<$<CONFIG:Release,RelWithDebInfo,MinSizeRel>:${MIXTRAIN_RECIPE_OPTIMIZATION}>")
  endif()
endfunction()

function(mixtrain_add_recipe name source)
  mixtrain_recipe_precompiled_header_target(pch)
  add_executable(${name} ${source} ${ARGN})
  target_link_libraries(${name} PRIVATE mixtrain::mixtrain)
  mixtrain_use_cold_code(${name})
  _mixtrain_recipe_optimisation(${name})
  target_precompile_headers(${name} REUSE_FROM ${pch})
endfunction()

# mixtrain_add_variants(): one executable per combination of compile-time axes.
include(${CMAKE_CURRENT_LIST_DIR}/MixtrainVariants.cmake)
