# cmake -P script used by ctest: compiles SOURCE with -fsyntax-only and the
# include flags in RSP, stopping at its first error (-Wfatal-errors).
# EXPECT=fail: a bad recipe; it must be rejected, and its first error must
#   match REGEX (GCC then skips the end-of-file template instantiations: half
#   of each check's time, 358 s -> 178 s for the 20 bad recipes).
# EXPECT=parse: a header check; SOURCE must parse without a warning up to its
#   last line, static_assert(false, "<REGEX>"), whose failure must be the only
#   error. Stopping there skips LibTorch's deferred instantiations: the 124
#   checks took 290 s instead of 997 s. The build instantiates the templates
#   for real, with warnings as errors (docs/testing.md).
execute_process(
  COMMAND ${CXX} -std=c++20 -fsyntax-only -Wall -Wextra -Wfatal-errors @${RSP} ${SOURCE}
  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(EXPECT STREQUAL "fail")
  if(status EQUAL 0)
    message(FATAL_ERROR "${SOURCE} compiled, but this recipe must be rejected")
  endif()
  if(NOT err MATCHES "${REGEX}")
    message(FATAL_ERROR "${SOURCE} was rejected without the expected message '${REGEX}':\n${err}")
  endif()
  message(STATUS "rejected as expected: ${REGEX}")
elseif(EXPECT STREQUAL "parse")
  string(REGEX MATCHALL "error:" errors "${err}")
  list(LENGTH errors error_count)
  if(status EQUAL 0 OR NOT error_count EQUAL 1 OR NOT err MATCHES "static assertion failed: ${REGEX}"
     OR err MATCHES "warning:")
    message(FATAL_ERROR "${SOURCE} must compile on its own without warnings:\n${err}")
  endif()
else()
  message(FATAL_ERROR "EXPECT must be fail or parse, not '${EXPECT}'")
endif()
