# What `cmake --install` gives a user, tried from a temporary prefix:
#   test_install_man         every man page renders without a groff warning;
#                            chronon(3) and a link for each public function
#   test_install_find_package  a consumer project built with find_package
#   test_install_pkgconfig   a consumer built with pkg-config
#   test_install_systemd     the unit passes systemd-analyze verify, and
#                            chronond works with the privilege it leaves
# The consumers are built with this build's compilers and sanitizer flags
# (a sanitized libchronon.so needs its runtime in the program).
set(dir ${CMAKE_CURRENT_SOURCE_DIR}/install)
set(flags "")
if(CHRONON_SANITIZE)
  set(flags "-fsanitize=${CHRONON_SANITIZE} -fno-omit-frame-pointer")
endif()
get_property(langs GLOBAL PROPERTY ENABLED_LANGUAGES)
set(cxx "")
if("CXX" IN_LIST langs)
  set(cxx ${CMAKE_CXX_COMPILER})
endif()

add_test(NAME test_install_man
  COMMAND bash ${dir}/check_man.sh ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR})
# A cross build's programs cannot run here except through the emulator:
# the consumers are left out, the unit is verified without running chronond.
set(emulated "")
if(CMAKE_CROSSCOMPILING)
  set(emulated "cross")
endif()
add_test(NAME test_install_systemd
  COMMAND bash ${dir}/check_unit.sh ${PROJECT_BINARY_DIR} "${CHRONON_SANITIZE}" "${emulated}")
set_tests_properties(test_install_man test_install_systemd PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
if(CMAKE_CROSSCOMPILING)
  message(STATUS "chronon: cross build: the find_package and pkg-config consumer tests are not run")
  return()
endif()

add_test(NAME test_install_find_package
  COMMAND bash ${dir}/check_consumer.sh find_package ${PROJECT_BINARY_DIR} ${dir}/consumer
    ${CMAKE_C_COMPILER} "${cxx}" "${flags}" ${CMAKE_COMMAND})
add_test(NAME test_install_pkgconfig
  COMMAND bash ${dir}/check_consumer.sh pkg-config ${PROJECT_BINARY_DIR} ${dir}/consumer
    ${CMAKE_C_COMPILER} "${cxx}" "${flags}" ${CMAKE_COMMAND})
set_tests_properties(test_install_find_package test_install_pkgconfig
  PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
