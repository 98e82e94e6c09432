# Test registration for mixtrain: every ctest entry gets a kind label (unit or
# e2e, optionally slow as well) and a TIMEOUT; Catch2 executables are run with
# `-w NoTests`, so an entry whose name matches no TEST_CASE fails instead of
# passing with "No tests ran". docs/testing.md describes the rules; the entries
# registry:* (tests/CMakeLists.txt) check them on the whole build tree.
#
#   mixtrain_add_script_test(NAME <name> LABELS <unit|e2e> [slow] TIMEOUT <seconds>
#                            COMMAND <command> [<arg>...]
#                            [WORKING_DIRECTORY <dir>] [ENVIRONMENT <VAR=value>...]
#                            [PROPERTIES <property> <value>...])
#   mixtrain_add_catch_tests(<target> [TIMEOUT <seconds>] [SLOW_TIMEOUT <seconds>])
#
# Catch TEST_CASEs tagged [slow] get the labels "unit;slow" and SLOW_TIMEOUT, and, like
# every slow entry, COST = their timeout (slow entries start first under ctest -j).
# When run as a script (cmake -P) with MIXTRAIN_SLOW_TESTS_EXECUTABLE set, this
# file writes the ctest commands for those [slow] tests instead.

if(CMAKE_SCRIPT_MODE_FILE AND DEFINED MIXTRAIN_SLOW_TESTS_EXECUTABLE)
  # cmake -D MIXTRAIN_SLOW_TESTS_EXECUTABLE=<exe> -D PREFIX=<p> -D TIMEOUT=<s> -D OUTPUT=<file> -P MixtrainTesting.cmake
  execute_process(COMMAND "${MIXTRAIN_SLOW_TESTS_EXECUTABLE}" "[slow]" --list-test-names-only
                  OUTPUT_VARIABLE listing RESULT_VARIABLE status)
  if(status LESS 0)
    message(FATAL_ERROR "${MIXTRAIN_SLOW_TESTS_EXECUTABLE} --list-test-names-only failed: ${status}")
  endif()
  string(REPLACE ";" "\\;" listing "${listing}")  # a `;` in a name must not split it here
  string(REPLACE "\n" ";" lines "${listing}")
  set(script "")
  foreach(name IN LISTS lines)
    if(NOT name STREQUAL "")
      string(APPEND script "set_tests_properties([==[${PREFIX}${name}]==] PROPERTIES LABELS [==[unit;slow]==] TIMEOUT ${TIMEOUT} COST ${TIMEOUT})\n")
    endif()
  endforeach()
  file(WRITE "${OUTPUT}" "${script}")
  return()
endif()

include_guard(GLOBAL)

# Checks a label list: exactly one kind, optionally "slow", nothing else.
function(_mixtrain_check_labels name labels)
  set(kinds 0)
  foreach(label IN LISTS labels)
    if(label STREQUAL "unit" OR label STREQUAL "e2e")
      math(EXPR kinds "${kinds} + 1")
    elseif(NOT label STREQUAL "slow")
      message(FATAL_ERROR "test ${name}: unknown label '${label}' (use unit or e2e, and slow when it takes minutes)")
    endif()
  endforeach()
  if(NOT kinds EQUAL 1)
    message(FATAL_ERROR "test ${name}: LABELS must hold exactly one of unit, e2e (got '${labels}')")
  endif()
endfunction()

function(mixtrain_add_script_test)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "NAME;TIMEOUT;WORKING_DIRECTORY" "LABELS;COMMAND;ENVIRONMENT;PROPERTIES")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "mixtrain_add_script_test: unexpected arguments '${arg_UNPARSED_ARGUMENTS}'")
  endif()
  if(NOT arg_NAME OR NOT arg_COMMAND)
    message(FATAL_ERROR "mixtrain_add_script_test: NAME and COMMAND are required")
  endif()
  if(NOT arg_TIMEOUT MATCHES "^[1-9][0-9]*$")
    message(FATAL_ERROR "test ${arg_NAME}: TIMEOUT must be a positive number of seconds (got '${arg_TIMEOUT}')")
  endif()
  _mixtrain_check_labels("${arg_NAME}" "${arg_LABELS}")
  set(where "")
  if(arg_WORKING_DIRECTORY)
    set(where WORKING_DIRECTORY ${arg_WORKING_DIRECTORY})
  endif()
  add_test(NAME ${arg_NAME} COMMAND ${arg_COMMAND} ${where})
  # One LibTorch thread per test: ctest runs two tests at once on two cores.
  # A fixed spin count: recipes neither measure it nor re-execute at each start
  # (app/openmp_env.hpp; e2e:omp_spincount_* tests that path). Measured
  # choices (autocast, channels-last) are cached in the build tree, not ~/.cache.
  set(environment OMP_NUM_THREADS=1 GOMP_SPINCOUNT=1000 MIXTRAIN_CACHE_DIR=${CMAKE_BINARY_DIR}/machine-cache
                  ${arg_ENVIRONMENT})
  # Slow entries start first: ctest -j takes tests in descending COST (a fresh clone has no
  # measured costs yet), so the two slots end together instead of one long entry running alone
  # at the end while the other core idles (a fresh clone's run ended with the gpu-check dry run).
  if("slow" IN_LIST arg_LABELS)
    list(APPEND arg_PROPERTIES COST ${arg_TIMEOUT})
  endif()
  set_tests_properties(${arg_NAME} PROPERTIES TIMEOUT ${arg_TIMEOUT} LABELS "${arg_LABELS}"
                       ENVIRONMENT "${environment}" ${arg_PROPERTIES})
endfunction()

# Every TEST_CASE of <target> becomes the ctest entry "<target>:<name>", run
# with `-w NoTests`. Discovery happens after each build (catch_discover_tests),
# so the properties travel with it.
function(mixtrain_add_catch_tests target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "TIMEOUT;SLOW_TIMEOUT" "")
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 300)
  endif()
  if(NOT arg_SLOW_TIMEOUT)
    set(arg_SLOW_TIMEOUT 900)
  endif()
  catch_discover_tests(${target} TEST_PREFIX "${target}:" EXTRA_ARGS -w NoTests
                       PROPERTIES TIMEOUT ${arg_TIMEOUT} LABELS unit ENVIRONMENT "OMP_NUM_THREADS=1")
  # [slow] tests: a second listing after the build, read by ctest after the first.
  set(slow_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_slow_tests.cmake")
  add_custom_command(TARGET ${target} POST_BUILD BYPRODUCTS "${slow_file}"
                     COMMAND "${CMAKE_COMMAND}" -D "MIXTRAIN_SLOW_TESTS_EXECUTABLE=$<TARGET_FILE:${target}>"
                             -D "PREFIX=${target}:" -D "TIMEOUT=${arg_SLOW_TIMEOUT}" -D "OUTPUT=${slow_file}"
                             -P "${CMAKE_CURRENT_FUNCTION_LIST_FILE}"
                     VERBATIM)
  set(include_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_slow_include.cmake")
  file(WRITE "${include_file}" "if(EXISTS \"${slow_file}\")\n  include(\"${slow_file}\")\nendif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${include_file}")
endfunction()
