# chronon_enable_cxx(<var>): enables C++ in the calling directory and sets
# <var> ON when a working C++ compiler exists, else sets it OFF.  Only
# tests/cmake/cxx.cmake and bench/ call it: the library stays C.  A
# toolchain file may name a compiler that is not installed (the arm64 one
# names aarch64-linux-gnu-g++): that counts as none.  A macro, because
# enable_language must run in the directory's own scope.
include(CheckLanguage)
macro(chronon_enable_cxx var)
  set(${var} OFF)
  check_language(CXX)
  if(CMAKE_CXX_COMPILER)
    if(IS_ABSOLUTE "${CMAKE_CXX_COMPILER}")
      set(_chronon_cxx "${CMAKE_CXX_COMPILER}")
    else()
      find_program(_chronon_cxx NAMES "${CMAKE_CXX_COMPILER}")
    endif()
    if(_chronon_cxx)
      enable_language(CXX)
      set(${var} ON)
    endif()
  endif()
endmacro()
