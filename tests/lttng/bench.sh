#!/bin/bash
# ns per traced LTTng-UST event with LTTng's own clock and with
# libchronon-lttng.so: usage bench.sh PLUGIN BENCH [ROUNDS] [COUNT]
#
# One private lttng-sessiond and one snapshot session (overwrite mode: the
# events go to the in-memory ring buffer only, so disk and consumer noise
# stay out of the figure).  Each round runs BENCH (COUNT events, default
# 10^6) once per clock, the order alternating between rounds; prints every
# round and the medians.  Run by `cmake --build BUILD --target lttng-bench`.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

[ $# -ge 2 ] && [ $# -le 4 ] || lttng_fail "usage: $0 PLUGIN BENCH [ROUNDS] [COUNT]"
lttng_require_tools
plugin=$(readlink -f "$1") && [ -f "$plugin" ] || lttng_fail "no plugin $1"
bench=$(readlink -f "$2") && [ -x "$bench" ] || lttng_fail "no benchmark program $2"
rounds=${3:-11}
count=${4:-1000000}
lttng_drop_root "$here/bench.sh" "$plugin" "$bench" "$rounds" "$count"
lttng_private_home

sessiond_start ""
lttng_q create bench --snapshot
lttng_q enable-event --userspace chronon_test:bench
lttng_q start

run()
{
	if [ "$1" = chronon ]; then
		LTTNG_UST_CLOCK_PLUGIN=$plugin "$bench" "$count"
	else
		env -u LTTNG_UST_CLOCK_PLUGIN "$bench" "$count"
	fi || lttng_fail "$bench failed"
}

median()
{
	sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

default_ns=""
chronon_ns=""
echo "round  default  chronon  (ns per event, $count events)"
for r in $(seq "$rounds"); do
	if [ $((r % 2)) = 1 ]; then
		d=$(run default); c=$(run chronon)
	else
		c=$(run chronon); d=$(run default)
	fi
	printf '%5d  %7s  %7s\n' "$r" "$d" "$c"
	default_ns="$default_ns $d"
	chronon_ns="$chronon_ns $c"
done
lttng_q stop
lttng_q destroy

md=$(printf '%s\n' $default_ns | median)
mc=$(printf '%s\n' $chronon_ns | median)
echo "median default $md ns, chronon $mc ns per event; saved $(awk -v a="$md" -v b="$mc" 'BEGIN { printf "%.1f ns (%.1f %%)", a - b, 100 * (a - b) / a }')"
