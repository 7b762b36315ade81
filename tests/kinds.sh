#!/bin/bash
# The suite as it runs on the other kinds of machine this project serves,
# emulated on this one through the library's view of the kernel's
# clocksources (CHRONON_CLOCKSOURCE_DIR, a fake sysfs tree) and of the
# host's paravirtual pages (CHRONON_PARAVIRT=off):
#   kvm-clock   a KVM guest booted with tsc=unstable: the kernel lists only
#               kvm-clock; the TSC is used where the pvclock page vouches
#   neither     no clocksource and no paravirtual page vouch for the TSC:
#               the default is the kernel, and the tests force the counter
#               (tests/force_counter.c) wherever the CPU has a steady one
# Usage: tests/kinds.sh BUILD_DIR [JOBS]
set -euo pipefail
build=$(cd "$1" && pwd)
jobs=${2:-2}
fake="$build/kinds"
mkdir -p "$fake/kvm-clock"
printf 'kvm-clock \n' > "$fake/kvm-clock/available_clocksource"
printf 'kvm-clock\n' > "$fake/kvm-clock/current_clocksource"

run() {
	local name=$1; shift
	printf '\n==== the suite as on a %s machine (%s) ====\n' "$name" "$*"
	(cd "$build" && env "$@" ctest --output-on-failure -j "$jobs")
}
run "kvm-clock" CHRONON_CLOCKSOURCE_DIR="$fake/kvm-clock"
run "neither" CHRONON_CLOCKSOURCE_DIR="$fake/kvm-clock" CHRONON_PARAVIRT=off
