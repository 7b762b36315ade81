#!/bin/sh
# The project's own suite inside the rig's guest, without ctest: LIST (made
# on the host from `ctest --show-only=json-v1`, paths moved to the guest's
# /chronon/build) has one test a line: name, timeout, skip code, working
# directory and the command, separated by tabs.  The tests find their
# helper programs through the environment set here.
B=/chronon/build
export CHRONOND_PATH=$B/daemon/chronond CHRONON_TOOL_PATH=$B/tools/chronon \
	CHRONON_PL_SO=$B/preload/libchronon-preload.so CHRONON_PL_PROG=$B/tests/chronon_pl_prog \
	CHRONON_PL_CHAIN=$B/tests/chronon_pl_chain
unset CHRONON_PAGE
pass=0 fail=0 skip=0 failed=
t0=$(cut -d. -f1 /proc/uptime)
tab=$(printf '\t')
while IFS="$tab" read -r name timeout skipcode dir cmd; do
	[ -n "$name" ] || continue
	cd "$dir" 2>/dev/null || cd /
	timeout "$timeout" sh -c "$cmd" > /run/kt/suite-$name.log 2>&1 </dev/null
	rc=$?
	if [ "$rc" = 0 ]; then
		pass=$((pass + 1)); echo "KT-SUITE $name: pass"
	elif [ -n "$skipcode" ] && [ "$rc" = "$skipcode" ]; then
		skip=$((skip + 1)); echo "KT-SUITE $name: skip ($(tail -n 1 /run/kt/suite-$name.log))"
	else
		fail=$((fail + 1)); failed="$failed $name"
		echo "KT-SUITE $name: FAIL (exit $rc)"
		# What failed, wherever in the log it was said, then its end.
		grep -a -m 8 'FAIL' /run/kt/suite-$name.log | sed 's/^/KT-LOG   /'
		tail -n 10 /run/kt/suite-$name.log | sed 's/^/KT-LOG   /'
	fi
done < "$1"
t1=$(cut -d. -f1 /proc/uptime)
echo "KT-NOTE suite in the guest: $pass passed, $fail failed, $skip skipped in $((t1 - t0)) s${failed:+ (failed:$failed)}"
# Judged as a scenario of its own (the host's TEST_KERNEL_KNOWN can list it).
echo "KT-RESULT suite $([ "$fail" = 0 ] && [ "$pass" -gt 0 ] && echo PASS || echo FAIL): $pass passed, $fail failed, $skip skipped${failed:+ (failed:$failed)}"
