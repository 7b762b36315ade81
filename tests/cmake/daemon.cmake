# The shared page's tests run the built chronond: its path is compiled in,
# and $CHRONOND_PATH overrides it (the suite run inside the test-kernel guest).
# Without the daemon target they skip (exit 77) and say so.
if(TARGET chronond)
  foreach(t test_shared_page test_shared_page_faults)
    if(TARGET ${t})
      target_compile_definitions(${t} PRIVATE "CHRONOND_PATH=(getenv(\"CHRONOND_PATH\") ? getenv(\"CHRONOND_PATH\") : \"$<TARGET_FILE:chronond>\")")
      add_dependencies(${t} chronond)
      set_tests_properties(${t} PROPERTIES TIMEOUT 300)
    endif()
  endforeach()
endif()
