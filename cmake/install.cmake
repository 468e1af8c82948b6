# cmake/install.cmake — the install tree (included by CMakeLists.txt after
# the targets are defined):
#   P/bin/adscope                        RPATH $ORIGIN/../lib
#   P/lib/libadscope.{a,so}              the library (core, backends, drivers)
#   P/lib/pkgconfig/adscope.pc           prefix=${pcfiledir}/../..
#   P/lib/cmake/adscope/                 find_package(adscope CONFIG): adscope::adscope
#   P/include/adscope.h, adscope/*.h     the public headers
#   P/share/adscope/plots/*.gp           the chart scripts, found relative to bin/
#   P/share/man/man1/adscope*.1          the man pages, generated from --help
#   P/share/bash-completion/completions/adscope
# Every path inside the tree is relative to the tree, so P may be given at
# install time (cmake --install BUILD --prefix P) and moved afterwards; the
# test install_consume (tests/install/) holds it to that.

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

foreach(dir BINDIR LIBDIR INCLUDEDIR DATADIR MANDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    message(FATAL_ERROR "CMAKE_INSTALL_${dir}=${CMAKE_INSTALL_${dir}}: adscope's install tree is relocatable, "
                        "give it relative to the prefix")
  endif()
endforeach()

# Relative paths between install directories (a fake root stands for P).
function(adscope_relative out from to)
  file(RELATIVE_PATH rel "/P/${from}" "/P/${to}")
  string(REGEX REPLACE "/$" "" rel "${rel}")
  if(rel STREQUAL "")
    set(rel ".")
  endif()
  set(${out} "${rel}" PARENT_SCOPE)
endfunction()

set(ADSCOPE_PLOTS_INSTALL_DIR ${CMAKE_INSTALL_DATADIR}/adscope/plots)
set(ADSCOPE_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/adscope)
adscope_relative(ADSCOPE_BIN_TO_LIB ${CMAKE_INSTALL_BINDIR} ${CMAKE_INSTALL_LIBDIR})
adscope_relative(ADSCOPE_BIN_TO_PLOTS ${CMAKE_INSTALL_BINDIR} ${ADSCOPE_PLOTS_INSTALL_DIR})
adscope_relative(ADSCOPE_PC_TO_PREFIX ${CMAKE_INSTALL_LIBDIR}/pkgconfig "")

# The program: libadscope.so beside it wherever the tree is; the chart
# scripts relative to it (cli/datadir.c), the source tree only for the
# build tree's program.
set_target_properties(adscope_cli PROPERTIES INSTALL_RPATH "$ORIGIN/${ADSCOPE_BIN_TO_LIB}")
target_compile_definitions(adscope_cli PRIVATE ADSCOPE_BUILD_DIR="$<TARGET_FILE_DIR:adscope_cli>"
                           ADSCOPE_PLOTS_RELATIVE="${ADSCOPE_BIN_TO_PLOTS}")

install(TARGETS adscope adscope_shared adscope_cli
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(FILES ${CMAKE_BINARY_DIR}/include/adscope/version.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/adscope)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/plots/ DESTINATION ${ADSCOPE_PLOTS_INSTALL_DIR} FILES_MATCHING PATTERN "*.gp")

# ---- man pages and bash completion, written by the program itself from its
# --help texts and tables (cli/docgen.h), so they cannot disagree with it.
set(ADSCOPE_DOC_DIR ${CMAKE_BINARY_DIR}/doc)
add_custom_command(
  OUTPUT ${ADSCOPE_DOC_DIR}/man1/adscope.1 ${ADSCOPE_DOC_DIR}/completion/adscope
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${ADSCOPE_DOC_DIR}/man1
  COMMAND ${CMAKE_COMMAND} -E make_directory ${ADSCOPE_DOC_DIR}/man1 ${ADSCOPE_DOC_DIR}/completion
  COMMAND adscope_cli man ${ADSCOPE_DOC_DIR}/man1
  COMMAND adscope_cli completion bash ${ADSCOPE_DOC_DIR}/completion/adscope
  DEPENDS adscope_cli
  COMMENT "adscope: man pages and bash completion from the program's help texts"
  VERBATIM)
add_custom_target(adscope_docs ALL DEPENDS ${ADSCOPE_DOC_DIR}/man1/adscope.1 ${ADSCOPE_DOC_DIR}/completion/adscope)
install(DIRECTORY ${ADSCOPE_DOC_DIR}/man1/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 FILES_MATCHING PATTERN "*.1")
install(FILES ${ADSCOPE_DOC_DIR}/completion/adscope DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)

# ---- pkg-config: Libs for the shared library (which carries its own
# dependencies); --static adds what libadscope.a needs.  GSL goes in
# Libs.private by name, not as Requires.private: gsl, because gsl.pc links
# GSL's reference CBLAS (-lgslcblas), which would take the place of the
# optimized BLAS the library was built with.
if(ADSCOPE_BLAS_OPENBLAS)
  set(ADSCOPE_PC_REQUIRES_PRIVATE "Requires.private: openblas")
  set(ADSCOPE_PC_BLAS "")
  set(ADSCOPE_STATIC_DEPS gsl openblas csv sleef m ${CMAKE_DL_LIBS})
else()
  set(ADSCOPE_PC_REQUIRES_PRIVATE "")
  set(ADSCOPE_PC_BLAS " -lgslcblas")
  set(ADSCOPE_STATIC_DEPS gsl gslcblas csv sleef m ${CMAKE_DL_LIBS})
endif()
set(ADSCOPE_PC_DL "")
foreach(lib IN LISTS CMAKE_DL_LIBS ADSCOPE_OPENMP_LIB_NAMES)
  string(APPEND ADSCOPE_PC_DL " -l${lib}")
endforeach()
list(APPEND ADSCOPE_STATIC_DEPS ${ADSCOPE_OPENMP_LIB_NAMES})
configure_file(${CMAKE_SOURCE_DIR}/cmake/adscope.pc.in ${CMAKE_BINARY_DIR}/adscope.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/adscope.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# ---- the CMake package: imported targets written by hand (not
# install(EXPORT)), so that the static library's dependencies are library
# names the linker finds, not this machine's absolute paths.
set(ADSCOPE_SHARED_FILE ${CMAKE_SHARED_LIBRARY_PREFIX}adscope${CMAKE_SHARED_LIBRARY_SUFFIX}.${PROJECT_VERSION_MAJOR})
set(ADSCOPE_STATIC_FILE ${CMAKE_STATIC_LIBRARY_PREFIX}adscope${CMAKE_STATIC_LIBRARY_SUFFIX})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/adscopeConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/adscopeConfig.cmake
                              INSTALL_DESTINATION ${ADSCOPE_CMAKE_INSTALL_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/adscopeConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/adscopeConfig.cmake ${CMAKE_BINARY_DIR}/adscopeConfigVersion.cmake
        DESTINATION ${ADSCOPE_CMAKE_INSTALL_DIR})
