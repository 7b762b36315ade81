#!/bin/sh
# Usage: gettime_only.sh MAP NM PROGRAM
# The layers point one way (doc/DESIGN.md, rule 16): a program that calls only
# chronon_gettime links none of the readers above the clock API.  MAP is
# the program's link map, which names every archive member it pulled in.
set -u
map=$1 nm=$2 prog=$3
fail=0
[ -s "$map" ] || { echo "no link map at $map"; exit 1; }
for member in sleep.c.o bound.c.o status.c.o; do
	if grep -q "libchronon\.a($member)" "$map"; then
		echo "FAIL: a chronon_gettime-only program links $member"
		grep "libchronon\.a($member)" "$map" | head -3
		fail=1
	fi
done
syms=$("$nm" "$prog" 2>/dev/null | grep -E ' (chronon_sleep_until|chronon_nanosleep|chronon_sleep_config|chronon_now_bounded|chronon_wait_until_after|chronon__bound_[a-z_]*|chronon__sleep_[a-z_]*)$')
if [ -n "$syms" ]; then
	echo "FAIL: sleep or bounded-time symbols linked:"
	echo "$syms"
	fail=1
fi
[ "$fail" = 0 ] && echo "ok: $(grep -o 'libchronon\.a([^)]*)' "$map" | sort -u | wc -l) library objects, no sleep or bounded time"
exit $fail
