# What `cmake --install` puts in place besides the programs: the headers,
# chronon.pc, the CMake package (chronon-config.cmake around the targets
# src/CMakeLists.txt exports) and the library's man page with one link per
# public function.  Included from the top-level CMakeLists.txt.
include(CMakePackageConfigHelpers)

install(FILES include/chronon.h include/chronon.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# chronon.pc finds its prefix from its own place, so an installed tree can be
# moved; the way up depends on the libdir (lib, lib64, lib/x86_64-linux-gnu).
file(RELATIVE_PATH CHRONON_PC_TO_PREFIX
  "${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig" "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/$" "" CHRONON_PC_TO_PREFIX "${CHRONON_PC_TO_PREFIX}")
configure_file(chronon.pc.in ${PROJECT_BINARY_DIR}/chronon.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/chronon.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

set(CHRONON_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/chronon)
install(EXPORT chronon-targets NAMESPACE chronon:: DESTINATION ${CHRONON_CMAKE_DIR})
configure_package_config_file(cmake/chronon-config.cmake.in
  ${PROJECT_BINARY_DIR}/chronon-config.cmake
  INSTALL_DESTINATION ${CHRONON_CMAKE_DIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR)
# One soname (libchronon.so.0) for every 0.x: same major, compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/chronon-config-version.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/chronon-config.cmake
  ${PROJECT_BINARY_DIR}/chronon-config-version.cmake DESTINATION ${CHRONON_CMAKE_DIR})

# chronon(3) and a `.so` link page for every public function, taken from
# the header so a new function gets its link (tests/cmake/man.cmake checks
# that chronon.3 names each one).
file(STRINGS include/chronon.h CHRONON_API_LINES REGEX "^CHRONON_API ")
set(CHRONON_API_FUNCTIONS "")
foreach(line ${CHRONON_API_LINES})
  if(line MATCHES "(chronon_[a-z_0-9]+)\\(")
    list(APPEND CHRONON_API_FUNCTIONS ${CMAKE_MATCH_1})
  endif()
endforeach()
set(CHRONON_MAN_LINKS "")
foreach(fn ${CHRONON_API_FUNCTIONS})
  file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/man3/${fn}.3 CONTENT ".so man3/chronon.3\n")
  list(APPEND CHRONON_MAN_LINKS ${PROJECT_BINARY_DIR}/man3/${fn}.3)
endforeach()
install(FILES man/chronon.3 ${CHRONON_MAN_LINKS} DESTINATION ${CMAKE_INSTALL_MANDIR}/man3)
