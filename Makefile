# The quick start: `make run` builds and shows the clock in use with a short
# benchmark; `make test` builds and runs the whole suite through ctest.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE ?= cmake

.PHONY: all build run test check-layers test-kinds asan tsan clang clean install

all: build

$(BUILD)/CMakeCache.txt:
	$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/CMakeCache.txt
	$(CMAKE) --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/tools/chronon status
	$(BUILD)/tools/chronon bench --clock all --seconds 6
	$(BUILD)/tools/chronon bench --threads 2 --seconds 2

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# No cycle between the library's object files: the layers point one way
# (.ci/layers.py prints the cycle and the symbols that close it).
check-layers: build
	python3 .ci/layers.py $(BUILD)/src/CMakeFiles/chronon_obj.dir

# The suite again as on a kvm-clock guest and on a machine where nothing
# vouches for the counter (tests/kinds.sh emulates both here).
test-kinds: build
	tests/kinds.sh $(BUILD) $(JOBS)

# Sanitizer builds: CHRONON_TEST_QUICK shortens the long real-clock loops,
# which run a hundred times slower under the sanitizers.
asan:
	$(CMAKE) -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCHRONON_SANITIZE=address,undefined
	$(CMAKE) --build build-asan -j $(JOBS)
	cd build-asan && CHRONON_TEST_QUICK=1 ctest --output-on-failure -j $(JOBS)

tsan:
	$(CMAKE) -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DCHRONON_SANITIZE=thread
	$(CMAKE) --build build-tsan -j $(JOBS)
	cd build-tsan && CHRONON_TEST_QUICK=1 ctest --output-on-failure -j $(JOBS)

# clang, warnings as errors like gcc.
clang:
	$(CMAKE) -S . -B build-clang -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
	$(CMAKE) --build build-clang -j $(JOBS)
	cd build-clang && ctest --output-on-failure -j $(JOBS)

install: build
	$(CMAKE) --install $(BUILD)

clean:
	rm -rf $(BUILD) build-asan build-tsan build-clang build-arm64 $(DEB_OUT)

# The arm64 suite: cross-build into build-arm64 and run every test under
# qemu-aarch64 (installs the cross compiler and qemu-user when missing).
BUILD_ARM64 ?= build-arm64
.PHONY: test-arm64
test-arm64:
	BUILD_ARM64=$(BUILD_ARM64) JOBS=$(JOBS) .ci/arm64.sh

# Debian packages (libchronon0, libchronon-dev, chronon) in $(DEB_OUT), and
# their test: installed into a throwaway root (dpkg --root, never this
# machine's /), checked, run, purged, and lintian.  Needs dpkg-dev; the
# test needs root (dpkg) and lintian.
DEB_OUT ?= build-deb
.PHONY: deb test-deb
deb:
	DEB_OUT=$(DEB_OUT) JOBS=$(JOBS) packaging/deb/build-deb.sh

test-deb: deb
	DEB_OUT=$(DEB_OUT) packaging/deb/test-deb.sh

# chronon inside a qemu guest whose clock is stepped, slewed, switched,
# paused and leapt (tests/kernel/run.sh; installs qemu and fetches a Debian
# kernel without installing it).  TEST_KERNEL_SCENARIOS=steps,freq,...
# picks scenarios, TEST_KERNEL_SUITE=0 skips the suite inside the guest.
.PHONY: test-kernel
test-kernel: build
	BUILD=$(BUILD) tests/kernel/run.sh
