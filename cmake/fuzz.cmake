# cmake/fuzz.cmake — the libFuzzer targets of tests/fuzz/ (ADSCOPE_FUZZ=ON,
# clang).  Every object of the build already carries ASan + UBSan and
# libFuzzer's coverage (CMakeLists.txt); these executables add libFuzzer's
# main.  Each target also runs its seed corpus once as a CTest test
# (fuzz_<name>_corpus), so an input that once crashed stays fixed.
# tests/fuzz/README.md says how to run them and what they check.
enable_testing()
set(ADSCOPE_FUZZ_DIR ${CMAKE_SOURCE_DIR}/tests/fuzz)

function(adscope_fuzz_target name)
  add_executable(fuzz_${name} ${ADSCOPE_FUZZ_DIR}/fuzz_${name}.c)
  adscope_target_defaults(fuzz_${name})
  target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  target_link_libraries(fuzz_${name} PRIVATE ${ARGN})
  add_test(NAME fuzz_${name}_corpus
           COMMAND fuzz_${name} -runs=0 -dict=${ADSCOPE_FUZZ_DIR}/${name}.dict ${ADSCOPE_FUZZ_DIR}/corpus/${name})
  set_tests_properties(fuzz_${name}_corpus PROPERTIES ENVIRONMENT
    "ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endfunction()

adscope_fuzz_target(expr adscope)
adscope_fuzz_target(bench_csv adscope_bench adscope)
adscope_fuzz_target(frame_csv adscope)
