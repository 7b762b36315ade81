#!/bin/sh
# The suite's last test: fails if any process a test started is still
# running once every test has ended.  Test programs mark what they start
# with CHRONON_TEST_GROUP in the environment (tests/check.c), and anything
# running an executable of the build tree counts too.  Their keepers take
# a moment to finish the job: leftovers get 5 s to go.
# Usage: leftovers.sh BUILD_DIR
build=$(cd "${1:?usage: leftovers.sh BUILD_DIR}" && pwd -P)
left=""
for try in $(seq 50); do
	left=""
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[ "$pid" = $$ ] && continue
		exe=$(readlink "$d/exe" 2>/dev/null) || continue
		case "$exe" in
		"$build"/*) ;;
		*) tr '\0' '\n' < "$d/environ" 2>/dev/null | grep -q '^CHRONON_TEST_GROUP=' || continue ;;
		esac
		left="$left $pid"
	done
	[ -z "$left" ] && { echo "no process left behind by the tests"; exit 0; }
	sleep 0.1
done
echo "FAIL: processes left behind by the tests:"
for pid in $left; do
	printf '  %s %s\n' "$pid" "$(tr '\0' ' ' < /proc/$pid/cmdline 2>/dev/null)"
done
exit 1
