# cmake -P script used by ctest: compiles SOURCE with -fsyntax-only and the
# include flags in RSP. EXPECT=pass: must compile warning-free.
# EXPECT=fail: must be rejected with output matching REGEX.
execute_process(
  COMMAND ${CXX} -std=c++20 -fsyntax-only -Wall -Wextra @${RSP} ${SOURCE}
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
