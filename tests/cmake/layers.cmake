# The layers point one way (doc/DESIGN.md, rule 16; README "How it is built").
# test_layers: no cycle between the library's object files (.ci/layers.py,
# also `make check-layers`).  test_gettime_only: a program that calls only
# chronon_gettime, linked against libchronon.a, pulls in no precise sleep
# and no bounded time (its link map says which members it took).
find_program(CHRONON_PYTHON3 python3)
if(CHRONON_PYTHON3)
  add_test(NAME test_layers
    COMMAND ${CHRONON_PYTHON3} ${PROJECT_SOURCE_DIR}/.ci/layers.py
            ${CMAKE_BINARY_DIR}/src/CMakeFiles/chronon_obj.dir)
  set_tests_properties(test_layers PROPERTIES TIMEOUT 60)
endif()

add_executable(layers_gettime_only ${CMAKE_CURRENT_SOURCE_DIR}/layers/gettime_only.c)
target_link_libraries(layers_gettime_only PRIVATE chronon_static)
target_link_options(layers_gettime_only PRIVATE
  "-Wl,-Map=${CMAKE_CURRENT_BINARY_DIR}/layers_gettime_only.map")
add_test(NAME test_gettime_only
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/layers/gettime_only.sh
          ${CMAKE_CURRENT_BINARY_DIR}/layers_gettime_only.map ${CMAKE_NM}
          $<TARGET_FILE:layers_gettime_only>)
add_test(NAME test_gettime_only_runs COMMAND layers_gettime_only)
set_tests_properties(test_gettime_only test_gettime_only_runs PROPERTIES TIMEOUT 60)
