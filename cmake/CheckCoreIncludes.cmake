# cmake -P script used by ctest: the generic loop knows no dataset. No header
# under include/mixtrain/core includes data/, heatmap/ or metric/, and the
# header that defines the loop pulls none of them in transitively (g++ -M).
file(GLOB core_headers ${INCLUDE_DIR}/mixtrain/core/*.hpp)
foreach(header ${core_headers})
  file(STRINGS ${header} lines REGEX "#include <mixtrain/(data|heatmap|metric)/")
  if(lines)
    message(FATAL_ERROR "${header} includes ${lines}")
  endif()
endforeach()
execute_process(
  COMMAND ${CXX} -std=c++20 -M @${RSP} -x c++ ${INCLUDE_DIR}/mixtrain/core/trainer.hpp
  RESULT_VARIABLE status OUTPUT_VARIABLE deps ERROR_VARIABLE err)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "g++ -M failed on core/trainer.hpp:\n${err}")
endif()
string(REGEX MATCHALL "mixtrain/(data|heatmap|metric)/[a-z_]+\\.hpp" forbidden "${deps}")
if(forbidden)
  list(REMOVE_DUPLICATES forbidden)
  message(FATAL_ERROR "core/trainer.hpp pulls in ${forbidden}")
endif()
string(REGEX MATCHALL "mixtrain/[a-z_]+/[a-z_]+\\.hpp" own "${deps}")
list(LENGTH own count)
if(count LESS 5)
  message(FATAL_ERROR "g++ -M listed only ${count} mixtrain headers; the check would pass by accident:\n${deps}")
endif()
message(STATUS "core/trainer.hpp depends on ${count} mixtrain headers, none from data/, heatmap/ or metric/")
