# cmake/check_layout.cmake — docs/ARCHITECTURE.md's layout table against the
# files in the repository.  Run as a test:
#   cmake -DSOURCE_DIR=<checkout> -P cmake/check_layout.cmake
#
# Every row of the table under "## Layout" names paths in its first column,
# in backticks: a file (`src/ctx.c`), a folder (`bench/`), or a pattern
# (`modes/gradcheck*.c`, `src/ops/<family>.c`: `*` and `<...>` stand for
# any part of a file name).  The check fails when a tracked file in one of
# the code folders is named by no row (the table no longer describes the
# code), or when a row names nothing (the code moved away from the table).

cmake_minimum_required(VERSION 3.18)

if(NOT SOURCE_DIR)
  message(FATAL_ERROR "check_layout: pass -DSOURCE_DIR=<the checkout>")
endif()

file(STRINGS "${SOURCE_DIR}/docs/ARCHITECTURE.md" doc_lines ENCODING UTF-8)
set(in_table OFF)
set(patterns "")
foreach(line IN LISTS doc_lines)
  if(line MATCHES "^## Layout")
    set(in_table ON)
  elseif(in_table AND line MATCHES "^## ")
    break()
  elseif(in_table AND line MATCHES "^\\| *`")
    string(REGEX REPLACE "^\\|([^|]*)\\|.*$" "\\1" first_cell "${line}")
    string(REGEX MATCHALL "`[^`]+`" names "${first_cell}")
    foreach(n IN LISTS names)
      string(REPLACE "`" "" n "${n}")
      list(APPEND patterns "${n}")
    endforeach()
  endif()
endforeach()
list(LENGTH patterns npatterns)
if(npatterns EQUAL 0)
  message(FATAL_ERROR "check_layout: no layout table found under '## Layout' in docs/ARCHITECTURE.md")
endif()

# The files: git's list in a checkout, else every file below the code
# folders (and the top-level files named).
set(code_dirs include src modes cli bench plots tests examples scripts cmake docs .ci CMakeLists.txt README.md)
find_program(GIT git)
if(GIT AND EXISTS "${SOURCE_DIR}/.git")
  execute_process(COMMAND "${GIT}" -C "${SOURCE_DIR}" ls-files ${code_dirs}
                  OUTPUT_VARIABLE listed RESULT_VARIABLE rc)
  string(REPLACE "\n" ";" files "${listed}")
  list(FILTER files EXCLUDE REGEX "^$")
else()
  set(rc 0)
  set(files "")
  foreach(d IN LISTS code_dirs)
    if(IS_DIRECTORY "${SOURCE_DIR}/${d}")
      file(GLOB_RECURSE found RELATIVE "${SOURCE_DIR}" "${SOURCE_DIR}/${d}/*")
      list(APPEND files ${found})
    elseif(EXISTS "${SOURCE_DIR}/${d}")
      list(APPEND files "${d}")
    endif()
  endforeach()
endif()
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "check_layout: git ls-files failed in ${SOURCE_DIR}")
endif()

# A table name as a regular expression over a path.
function(pattern_regex name out)
  string(REGEX REPLACE "([.+?^$()\\[\\]{}|])" "\\\\\\1" re "${name}")
  string(REGEX REPLACE "<[^>]*>" "[^/]+" re "${re}")
  string(REPLACE "*" "[^/]*" re "${re}")
  if(name MATCHES "/$")
    set(re "^${re}")
  else()
    set(re "^${re}$")
  endif()
  set(${out} "${re}" PARENT_SCOPE)
endfunction()

set(problems "")
set(covered "")
foreach(p IN LISTS patterns)
  pattern_regex("${p}" re)
  set(hits ${files})
  list(FILTER hits INCLUDE REGEX "${re}")
  if(NOT hits)
    string(APPEND problems "\n  the table names `${p}`, which matches no file")
  endif()
  list(APPEND covered ${hits})
endforeach()
foreach(f IN LISTS files)
  list(FIND covered "${f}" at)
  if(at EQUAL -1)
    string(APPEND problems "\n  ${f} is named by no row of the table")
  endif()
endforeach()

if(problems)
  message(FATAL_ERROR "docs/ARCHITECTURE.md's layout table does not match the files:${problems}")
endif()
list(LENGTH files nfiles)
message(STATUS "layout table: ${npatterns} names cover all ${nfiles} files")
