# chronon.hpp's std::chrono clocks, built as C++17 and as C++20 against the
# shared library.  C++ is enabled here (and in bench/) only, and only when
# a C++ compiler exists: the library itself stays C.
include(${PROJECT_SOURCE_DIR}/cmake/enable_cxx.cmake)
chronon_enable_cxx(CHRONON_HAVE_CXX)
if(CHRONON_HAVE_CXX)
  foreach(std 17 20)
    add_executable(test_chrono_cxx${std} ${CMAKE_CURRENT_SOURCE_DIR}/cxx/test_chrono.cpp)
    set_target_properties(test_chrono_cxx${std} PROPERTIES
      CXX_STANDARD ${std} CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF)
    target_link_libraries(test_chrono_cxx${std} PRIVATE chronon_shared)
    add_test(NAME test_chrono_cxx${std} COMMAND test_chrono_cxx${std})
    set_tests_properties(test_chrono_cxx${std} PROPERTIES TIMEOUT 120)
  endforeach()
else()
  message(STATUS "chronon: no C++ compiler: the chronon.hpp tests are not built")
endif()
