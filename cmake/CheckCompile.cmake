# cmake -P script used by ctest: compiles SOURCE with -fsyntax-only and the
# include flags in RSP. EXPECT=pass: must compile warning-free.
# EXPECT=fail: must be rejected with output matching REGEX.
# A bad recipe stops at its first error (-Wfatal-errors): the message it must
# give is that one, and GCC then skips the end-of-file template instantiations
# (half of each check's time: 358 s -> 178 s for the 20 bad recipes).
set(stop_at_first_error)
if(EXPECT STREQUAL "fail")
  set(stop_at_first_error -Wfatal-errors)
endif()
execute_process(
  COMMAND ${CXX} -std=c++20 -fsyntax-only -Wall -Wextra ${stop_at_first_error} @${RSP} ${SOURCE}
  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(EXPECT STREQUAL "fail")
  if(status EQUAL 0)
    message(FATAL_ERROR "${SOURCE} compiled, but this recipe must be rejected")
  endif()
  if(NOT err MATCHES "${REGEX}")
    message(FATAL_ERROR "${SOURCE} was rejected without the expected message '${REGEX}':\n${err}")
  endif()
  message(STATUS "rejected as expected: ${REGEX}")
else()
  if(NOT status EQUAL 0 OR err MATCHES "warning:")
    message(FATAL_ERROR "${SOURCE} must compile on its own without warnings:\n${err}")
  endif()
endif()
