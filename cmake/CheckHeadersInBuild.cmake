# cmake -P script used by ctest: every public header (HEADERS_FILE, one per
# line) is compiled by some target of the build, as Ninja's dependency log
# records. The header checks stop before GCC instantiates templates, so a
# header that no target compiles would have its instantiations checked nowhere.
execute_process(COMMAND ${NINJA} -C ${BUILD_DIR} -t deps
                RESULT_VARIABLE status OUTPUT_VARIABLE deps ERROR_VARIABLE err)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${NINJA} -t deps failed in ${BUILD_DIR}:\n${err}")
endif()
string(REGEX MATCHALL "/include/mixtrain/[A-Za-z0-9_/]+\\.hpp" compiled "${deps}")
list(TRANSFORM compiled REPLACE "^/include/" "")
list(REMOVE_DUPLICATES compiled)
file(STRINGS ${HEADERS_FILE} headers)
set(missing ${headers})
list(REMOVE_ITEM missing ${compiled})
if(missing)
  list(JOIN missing "\n  " listed)
  message(FATAL_ERROR "no target of the build compiles these public headers (build everything first; "
                      "a header no test or recipe includes is dead or untested):\n  ${listed}")
endif()
list(LENGTH headers count)
message(STATUS "all ${count} public headers are compiled by targets of the build")
