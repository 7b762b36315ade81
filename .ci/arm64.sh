#!/bin/sh
# The arm64 suite under user-mode emulation: installs the cross compiler,
# the arm64 C library and qemu-user (Debian 12 names), cross-builds the
# library, tools and tests into build-arm64 (or $BUILD_ARM64) and runs the
# whole ctest suite through qemu-aarch64 (the toolchain file sets
# CMAKE_CROSSCOMPILING_EMULATOR, and CHRONON_EMULATED=1 for the tests).
# Called by .ci/run; `make test-arm64` runs it by hand.
#   --no-install   skip apt-get (the packages are already there)
set -eu
cd "$(dirname "$0")/.."
BUILD="${BUILD_ARM64:-build-arm64}"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"

if [ "${1:-}" != "--no-install" ]; then
	export DEBIAN_FRONTEND=noninteractive
	if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null ||
	   [ ! -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]; then
		apt-get update -q
		apt-get install -y -q --no-install-recommends \
			gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
	fi
fi

# The dynamic loader and libc of the target, for anything run by hand.
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/toolchain-aarch64.cmake"
cmake --build "$BUILD" -j "$JOBS"

echo "arm64: benchmarks are not run: timings under qemu-aarch64 measure the emulator, not a CPU"
echo "arm64: chronon status under qemu-aarch64:"
# the emulated counter moves in 1 us steps: calibration needs longer than the default warm-up
qemu-aarch64 "$BUILD/tools/chronon" status --warmup 300 || true
# Tests that start arm64 programs of their own (exec, system, popen) need
# the kernel to run those through qemu too, which takes binfmt_misc (the
# qemu-user-binfmt package, and a kernel that lets this machine register
# it: not inside an unprivileged container).  Without it they cannot work
# here; they are listed and left out, visibly, rather than failed.
exclude=""
if ! "$BUILD/tools/chronon" --help >/dev/null 2>&1; then
	spawners=$(grep -lE 'exec[lv]p?e?\(|posix_spawn|system\(|popen\(|run\.h"' tests/test_*.c |
		sed 's|.*/||; s|\.c$||' | tr '\n' '|' | sed 's/|$//')
	if [ -n "$spawners" ]; then
		echo "arm64: no binfmt_misc entry for aarch64: these tests start arm64 programs and are"
		echo "arm64: NOT RUN under user-mode emulation: $spawners"
		exclude="^($spawners)\$"
	fi
fi
cd "$BUILD"
if [ -n "$exclude" ]; then
	ctest --output-on-failure -j "$JOBS" -E "$exclude"
else
	ctest --output-on-failure -j "$JOBS"
fi
