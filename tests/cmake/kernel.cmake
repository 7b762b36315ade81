# The real-kernel rig (`make test-kernel`, tests/kernel/run.sh): the reader
# and the event driver that run inside its qemu guest.  kt_reader_plain is
# an ordinary program (no chronon, no sanitizer) for the preload to answer.
# On the host only the driver's guard is tested: it must refuse to run.
set(kt_dir ${CMAKE_CURRENT_LIST_DIR}/../kernel)
add_executable(kt_reader ${kt_dir}/kt_reader.c)
target_link_libraries(kt_reader PRIVATE chronon_static Threads::Threads)
add_executable(kt_reader_plain ${kt_dir}/kt_reader.c)
target_compile_definitions(kt_reader_plain PRIVATE KT_PLAIN)
target_link_libraries(kt_reader_plain PRIVATE Threads::Threads)
if(COMMAND chronon_preload_unsanitized)
  chronon_preload_unsanitized(kt_reader_plain)
endif()
add_executable(kt_events ${kt_dir}/kt_events.c)
target_link_libraries(kt_events PRIVATE chronon_static Threads::Threads)

# The rig boots an x86-64 guest; a cross build's driver is not started by
# a shell here (no binfmt for its machine), so the guard is tested natively.
if(NOT CMAKE_CROSSCOMPILING)
  add_test(NAME test_kernel_guard
    COMMAND sh -c "\"$0\" --guard-only; test $? -eq 3" $<TARGET_FILE:kt_events>)
endif()
