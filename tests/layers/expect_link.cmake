# tests/layers/expect_link.cmake — links one probe object with the core
# archive (every member, as the core's check does) into a shared object
# with -Wl,--no-undefined, and checks the outcome.
#   -DCC=compiler -DINCLUDES=a;b -DPROBE=file.c -DCORE=libadscope_core.a
#   -DLIBS=gsl;blas;m -DFLAGS=extra compile and link flags (sanitizers) -DOUT=dir -DEXPECT=fail|link [-DSYMBOL=name]
# EXPECT=fail also requires the linker to name SYMBOL as undefined, so the
# test cannot pass on an unrelated failure.
set(inc "")
foreach(d ${INCLUDES})
  list(APPEND inc "-I${d}")
endforeach()
set(libs "")
foreach(l ${LIBS})
  if(l MATCHES "/" OR l MATCHES "^-")
    list(APPEND libs "${l}")
  else()
    list(APPEND libs "-l${l}") # bare names such as m and dl
  endif()
endforeach()
get_filename_component(name ${PROBE} NAME_WE)
set(obj ${OUT}/${name}.o)
execute_process(COMMAND ${CC} -std=c11 -fPIC ${FLAGS} -c ${inc} ${PROBE} -o ${obj}
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "compiling ${PROBE} failed:\n${err}")
endif()
execute_process(COMMAND ${CC} -shared ${FLAGS} -o ${OUT}/${name}.so ${obj} -Wl,--no-undefined
                        -Wl,--whole-archive ${CORE} -Wl,--no-whole-archive ${libs}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(EXPECT STREQUAL "link")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name}: expected to link against the core alone, but:\n${err}")
  endif()
  message(STATUS "${name}: links against the core alone, as it should")
else()
  if(rc EQUAL 0)
    message(FATAL_ERROR "${name}: a core object calling the modes LINKED; the layer check is not working")
  endif()
  if(NOT err MATCHES "undefined reference to [`']${SYMBOL}'")
    message(FATAL_ERROR "${name}: the link failed, but not on ${SYMBOL}:\n${err}")
  endif()
  message(STATUS "${name}: fails to link (undefined ${SYMBOL}), as it should")
endif()
