# Precise sleep: the benchmark program (bench/sleep_bench.c) is built here
# as chronon-sleep-bench, next to the other benchmarks, unless bench/ already
# defines it.  It reaches chronon__ internals (the learned margin, the spin
# time), so it links the static library.  A short smoke run is a test: it
# fails only if a sleep woke before its deadline, never on lateness.
if(NOT TARGET chronon-sleep-bench)
  add_executable(chronon-sleep-bench ${PROJECT_SOURCE_DIR}/bench/sleep_bench.c)
  target_include_directories(chronon-sleep-bench PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(chronon-sleep-bench PRIVATE chronon_static Threads::Threads)
  set_target_properties(chronon-sleep-bench PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
endif()

add_test(NAME test_sleep_bench_smoke COMMAND chronon-sleep-bench --quick)
set_tests_properties(test_sleep_bench_smoke PROPERTIES TIMEOUT 300)
