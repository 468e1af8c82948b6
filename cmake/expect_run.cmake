# Runs PROG with ARGS (a ;-list) and checks its exit code (EXPECT_EXIT) and
# that its standard output matches EXPECT_REGEX.
# Usage: cmake -DPROG=... "-DARGS=a;b" -DEXPECT_EXIT=1 -DEXPECT_REGEX=... -P expect_run.cmake
execute_process(COMMAND ${PROG} ${ARGS} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL EXPECT_EXIT)
  message(FATAL_ERROR "${PROG} exited with ${rc}, expected ${EXPECT_EXIT}\n${out}\n${err}")
endif()
if(NOT out MATCHES "${EXPECT_REGEX}")
  message(FATAL_ERROR "output of ${PROG} does not match '${EXPECT_REGEX}':\n${out}\n${err}")
endif()
