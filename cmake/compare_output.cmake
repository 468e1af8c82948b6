# Runs PROG and compares its standard output with the file EXPECTED.
# Usage: cmake -DPROG=... -DEXPECTED=... -P compare_output.cmake
execute_process(COMMAND ${PROG} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROG} exited with ${rc}\n${err}")
endif()
file(READ ${EXPECTED} want)
if(NOT out STREQUAL want)
  get_filename_component(name ${EXPECTED} NAME)
  set(got_file ${CMAKE_CURRENT_BINARY_DIR}/${name}.actual)
  file(WRITE ${got_file} "${out}")
  execute_process(COMMAND diff -u ${EXPECTED} ${got_file})
  message(FATAL_ERROR "output differs from ${EXPECTED} (actual output in ${got_file})")
endif()
