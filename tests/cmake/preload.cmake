# libchronon-preload.so on real, unmodified programs: date, python3, and
# the helpers in tests/preload/ that are built WITHOUT chronon (and
# without sanitizers: they must be plain programs the shim is loaded into).
# The drivers (tests/test_preload_*.c, registered by tests/CMakeLists.txt)
# learn the paths through compile definitions, each overridden by the
# environment variable of its name (the suite run inside the test-kernel guest).
if(TARGET chronon_preload)
  set(pl_dir ${CMAKE_CURRENT_SOURCE_DIR}/preload)

  add_library(chronon_pl_ctorlib SHARED ${pl_dir}/ctor_lib.c)
  add_executable(chronon_pl_prog ${pl_dir}/prog.c)
  target_link_libraries(chronon_pl_prog PRIVATE chronon_pl_ctorlib Threads::Threads)
  add_executable(chronon_pl_chain ${pl_dir}/chain.c)
  target_link_libraries(chronon_pl_chain PRIVATE Threads::Threads)
  foreach(t chronon_pl_ctorlib chronon_pl_prog chronon_pl_chain)
    target_include_directories(${t} PRIVATE ${pl_dir})
    chronon_preload_unsanitized(${t})
  endforeach()
  # The program finds its library beside it ($ORIGIN), not at the build
  # tree's absolute path: the test-kernel guest runs the build from
  # another place (/chronon/build), where that path does not exist.
  set_target_properties(chronon_pl_prog PROPERTIES BUILD_RPATH_USE_ORIGIN ON)

  file(GLOB pl_drivers CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/test_preload_*.c)
  foreach(src ${pl_drivers})
    get_filename_component(name ${src} NAME_WE)
    target_include_directories(${name} PRIVATE ${pl_dir})
    target_compile_definitions(${name} PRIVATE
      "CHRONON_PL_SO=(getenv(\"CHRONON_PL_SO\") ? getenv(\"CHRONON_PL_SO\") : \"$<TARGET_FILE:chronon_preload>\")"
      "CHRONON_PL_PROG=(getenv(\"CHRONON_PL_PROG\") ? getenv(\"CHRONON_PL_PROG\") : \"$<TARGET_FILE:chronon_pl_prog>\")"
      "CHRONON_PL_CHAIN=(getenv(\"CHRONON_PL_CHAIN\") ? getenv(\"CHRONON_PL_CHAIN\") : \"$<TARGET_FILE:chronon_pl_chain>\")")
    add_dependencies(${name} chronon_preload chronon_pl_prog chronon_pl_chain)
  endforeach()
  # The consistency run is 20 s of reading by design (--seconds by hand).
  if(TEST test_preload_consistency)
    set_tests_properties(test_preload_consistency PROPERTIES TIMEOUT 120)
  endif()
endif()
