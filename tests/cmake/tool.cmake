# The chronon command's tests: the vDSO ELF reader is linked into its unit
# test, and the end-to-end test gets the built binary's path compiled in.
if(TARGET test_vdso_elf AND TARGET chronon_vdso_elf)
  target_link_libraries(test_vdso_elf PRIVATE chronon_vdso_elf)
endif()
if(TARGET test_tool_cli AND TARGET chronon)
  target_compile_definitions(test_tool_cli PRIVATE "CHRONON_TOOL_PATH=(getenv(\"CHRONON_TOOL_PATH\") ? getenv(\"CHRONON_TOOL_PATH\") : \"$<TARGET_FILE:chronon>\")")
  add_dependencies(test_tool_cli chronon)
  set_tests_properties(test_tool_cli PROPERTIES TIMEOUT 300)
endif()
