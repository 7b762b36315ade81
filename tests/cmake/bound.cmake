# Bounded time (src/bound.c).  The chronon command's `bound` subcommand
# (tools/cmd_bound.c) is added to the tool here unless tools/CMakeLists.txt
# already lists it, and the benchmark (bench/bound_bench.c) is built as
# chronon-bound-bench: chronon_now_bounded against chronon_now_ns.
if(TARGET chronon)
  get_target_property(chronon_tool_sources chronon SOURCES)
  if(NOT chronon_tool_sources MATCHES "cmd_bound\\.c")
    target_sources(chronon PRIVATE ${PROJECT_SOURCE_DIR}/tools/cmd_bound.c)
  endif()
endif()

if(NOT TARGET chronon-bound-bench)
  add_executable(chronon-bound-bench ${PROJECT_SOURCE_DIR}/bench/bound_bench.c)
  # The bench gives the process's timekeeper a synchronised NTP source of
  # its own (tests/fake_ntp.c, in chronon_testlib).
  target_link_libraries(chronon-bound-bench PRIVATE chronon_testlib Threads::Threads)
endif()
