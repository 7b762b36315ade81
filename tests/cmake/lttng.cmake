# The LTTng clock plugin's end-to-end test (tests/lttng/e2e.sh: a private
# lttng-sessiond, a traced program, babeltrace2) and the lttng-bench target
# (tests/lttng/bench.sh).  Both need the plugin, built by plugins/ when
# lttng-ust is found; without it the test is still listed and skips.
set(CHRONON_LTTNG_DIR ${CMAKE_CURRENT_LIST_DIR}/../lttng)

if(TARGET chronon_lttng)
  add_executable(chronon_lttng_app
    ${CHRONON_LTTNG_DIR}/lttng_app.c ${CHRONON_LTTNG_DIR}/chronon_test_tp.c)
  target_include_directories(chronon_lttng_app PRIVATE ${CHRONON_LTTNG_DIR})
  target_link_libraries(chronon_lttng_app PRIVATE PkgConfig::LTTNG_UST)

  add_test(NAME test_lttng_e2e
    COMMAND ${CHRONON_LTTNG_DIR}/e2e.sh
      $<TARGET_FILE:chronon_lttng> $<TARGET_FILE:chronon_lttng_app>)
  # RUN_SERIAL: four sessiond runs; timing-sensitive checks on 2 cores.
  set_tests_properties(test_lttng_e2e PROPERTIES
    SKIP_RETURN_CODE 77 TIMEOUT 600 RUN_SERIAL TRUE
    ENVIRONMENT "CHRONON_SANITIZE=${CHRONON_SANITIZE}")

  add_custom_target(lttng-bench
    COMMAND ${CHRONON_LTTNG_DIR}/bench.sh
      $<TARGET_FILE:chronon_lttng> $<TARGET_FILE:chronon_lttng_bench>
    DEPENDS chronon_lttng chronon_lttng_bench
    USES_TERMINAL)
else()
  add_test(NAME test_lttng_e2e
    COMMAND sh -c "echo 'SKIP: libchronon-lttng.so not built (CHRONON_LTTNG=OFF or lttng-ust >= 2.13 not found; Debian: liblttng-ust-dev)'; exit 77")
  set_tests_properties(test_lttng_e2e PROPERTIES SKIP_RETURN_CODE 77)
endif()
