# Cross-building for arm64 (aarch64-linux-gnu) on a Debian/Ubuntu host:
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake
# Needs gcc-aarch64-linux-gnu and libc6-dev-arm64-cross.  ctest runs the
# test programs through qemu-aarch64 (qemu-user) when it is installed:
# CMAKE_CROSSCOMPILING_EMULATOR is what add_test prefixes to a target
# command.  Override the compiler with -DCHRONON_CROSS_PREFIX=... and the
# emulator with -DCMAKE_CROSSCOMPILING_EMULATOR=...
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CHRONON_CROSS_PREFIX "aarch64-linux-gnu-" CACHE STRING "cross compiler prefix")
set(CMAKE_C_COMPILER ${CHRONON_CROSS_PREFIX}gcc)
set(CMAKE_CXX_COMPILER ${CHRONON_CROSS_PREFIX}g++)

set(CHRONON_SYSROOT "/usr/aarch64-linux-gnu" CACHE PATH "target libraries (QEMU_LD_PREFIX)")
set(CMAKE_FIND_ROOT_PATH ${CHRONON_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# -L: the dynamic loader and libraries of the target, as QEMU_LD_PREFIX
# would give them.  CHRONON_EMULATED=1 tells timing-sensitive tests that
# they run emulated.
if(NOT DEFINED CMAKE_CROSSCOMPILING_EMULATOR)
  find_program(CHRONON_QEMU_AARCH64 qemu-aarch64)
  if(CHRONON_QEMU_AARCH64)
    set(CMAKE_CROSSCOMPILING_EMULATOR
        /usr/bin/env;CHRONON_EMULATED=1;${CHRONON_QEMU_AARCH64};-L;${CHRONON_SYSROOT})
  endif()
endif()

# pkg-config must not hand the host's (x86-64) libraries to the target.
set(ENV{PKG_CONFIG_LIBDIR} "${CHRONON_SYSROOT}/lib/pkgconfig:/usr/lib/aarch64-linux-gnu/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
