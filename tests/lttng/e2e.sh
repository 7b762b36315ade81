#!/bin/bash
# End-to-end test of libchronon-lttng.so: usage e2e.sh PLUGIN APP
#
# Traces APP (1000 chronon_test:tick events, each carrying its sequence
# number and its own CLOCK_REALTIME reading) four times, each with a
# private lttng-sessiond: LTTng's default clock (the reference), chronon in
# the sessiond and the app (the supported set-up), and each side alone.
# Then checks with babeltrace2:
#  - the clock class: chronon_monotonic, UUID = this boot's id, 1 GHz, when
#    the sessiond loaded the plugin (the sessiond writes the metadata);
#  - all 1000 events, in sequence order, raw timestamps never decreasing;
#  - wall time (babeltrace2's conversion with the metadata's offset) minus
#    the event's own REALTIME reading: never below -TOL_EARLY_NS (the event
#    is timestamped after that reading, so only clock error can make it
#    negative), median at most TOL_MEDIAN_NS;
#  - against the default-clock trace: the metadata offsets (REALTIME -
#    MONOTONIC as each sessiond measured it) and the median differences
#    agree within TOL_AGREE_NS; the traces read together.
# Skips (77) where LTTng is missing or the plugin was built with sanitizers.
set -u

TOL_EARLY_NS=10000
TOL_MEDIAN_NS=20000
TOL_AGREE_NS=5000
COUNT=1000

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

[ $# -eq 2 ] || lttng_fail "usage: $0 PLUGIN APP"
[ -z "${CHRONON_SANITIZE:-}" ] ||
	lttng_skip "built with CHRONON_SANITIZE=$CHRONON_SANITIZE: a sanitized plugin cannot be loaded into lttng-sessiond"
lttng_require_tools
plugin=$(readlink -f "$1") && [ -f "$plugin" ] || lttng_fail "no plugin $1"
app=$(readlink -f "$2") && [ -x "$app" ] || lttng_fail "no test program $2"
lttng_drop_root "$here/e2e.sh" "$plugin" "$app"
lttng_private_home

boot_id=$(cat /proc/sys/kernel/random/boot_id)
failures=0

fail()
{
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# maps_plugin PID: does PID have the plugin mapped?
maps_plugin()
{
	grep -qF "$plugin" "/proc/$1/maps" 2>/dev/null
}

# check_loaded: the sessiond and every daemon it started have the plugin
# mapped (the consumer inherits the sessiond's environment).
check_loaded()
{
	local pid name
	for pid in $SESSIOND_PID $(descendants "$SESSIOND_PID"); do
		name=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
		maps_plugin "$pid" || fail "$name ($pid) did not load the plugin"
	done
}

# record LABEL SESSIOND_PLUGIN APP_PLUGIN: one traced run of APP.
record()
{
	local label=$1 splugin=$2 aplugin=$3
	sessiond_start "$splugin"
	lttng_q create "e2e-$label" --output="$LTTNG_TMP/$label"
	lttng_q enable-event --userspace chronon_test:tick
	lttng_q start
	[ -n "$splugin" ] && check_loaded
	if [ -n "$aplugin" ]; then
		LTTNG_UST_CLOCK_PLUGIN=$aplugin timeout 120 "$app" "$COUNT"
	else
		env -u LTTNG_UST_CLOCK_PLUGIN timeout 120 "$app" "$COUNT"
	fi || fail "$label: the test program failed ($?)"
	lttng_q stop
	lttng_q destroy
	sessiond_stop || fail "$label: the daemons did not stop on SIGTERM"
}

# metadata LABEL FIELD: a field of the trace's clock class.
metadata()
{
	local dir
	dir=$(dirname "$(find "$LTTNG_TMP/$1" -name metadata | head -n 1)")
	babeltrace2 --output-format=ctf-metadata "$dir" 2>/dev/null |
		sed -n '/^clock {/,/^};/p' |
		sed -n "s/^[[:space:]]*$2 = \"\{0,1\}\([^\";]*\)\"\{0,1\};.*/\1/p"
}

# check LABEL CLOCK_NAME: the per-trace checks; sets MEDIAN_<LABEL>.
check()
{
	local label=$1 want=$2 name uuid freq offset out diffs n bad median
	name=$(metadata "$label" name)
	uuid=$(metadata "$label" uuid)
	freq=$(metadata "$label" freq)
	offset=$(metadata "$label" offset)
	eval "OFFSET_$label=\$offset"
	[ "$name" = "$want" ] || fail "$label: clock class '$name', expected '$want'"
	[ "$uuid" = "$boot_id" ] || fail "$label: clock uuid '$uuid', expected the boot id $boot_id"
	[ "$freq" = 1000000000 ] || fail "$label: clock frequency '$freq'"

	out=$(babeltrace2 --clock-seconds --no-delta "$LTTNG_TMP/$label" 2>&1) ||
		{ fail "$label: babeltrace2: $out"; return; }
	n=$(printf '%s\n' "$out" | grep -c 'chronon_test:tick')
	[ "$n" = "$COUNT" ] || fail "$label: $n events, expected $COUNT"
	diffs=$(printf '%s\n' "$out" | grep 'chronon_test:tick' | awk -f "$here/events.awk")
	bad=$(printf '%s\n' "$diffs" | grep '^BAD' | head -n 5)
	[ -z "$bad" ] || fail "$label: $bad"
	bad=$(babeltrace2 --clock-cycles --no-delta "$LTTNG_TMP/$label" 2>&1 |
		awk -f "$here/cycles.awk" | head -n 5)
	[ -z "$bad" ] || fail "$label: $bad"

	diffs=$(printf '%s\n' "$diffs" | grep -v '^BAD' | sort -n)
	median=$(printf '%s\n' "$diffs" | sed -n "$(( (COUNT + 1) / 2 ))p")
	set -- $(printf '%s\n' "$diffs" | sed -n '1p;$p')
	echo "$label: clock $name uuid $uuid offset $offset;" \
		"event time - payload REALTIME (ns): min $1 median $median max $2"
	[ "$1" -ge "-$TOL_EARLY_NS" ] ||
		fail "$label: an event is $(( -$1 )) ns before its own REALTIME reading (tolerance $TOL_EARLY_NS)"
	[ "$median" -le "$TOL_MEDIAN_NS" ] ||
		fail "$label: median lateness $median ns (tolerance $TOL_MEDIAN_NS)"
	eval "MEDIAN_$label=\$median"
}

agree()
{
	local what=$1 a=$2 b=$3 d
	d=$(( a - b ))
	[ "${d#-}" -le "$TOL_AGREE_NS" ] ||
		fail "$what: chronon and the default clock differ by $d ns (tolerance $TOL_AGREE_NS)"
	echo "$what: chronon - default = $d ns"
}

record default "" ""
record chronon "$plugin" "$plugin"
record apponly "" "$plugin"
record sessiondonly "$plugin" ""

check default monotonic
check chronon chronon_monotonic
check apponly monotonic
check sessiondonly chronon_monotonic

agree "clock offset" "${OFFSET_chronon:-0}" "${OFFSET_default:-0}"
agree "median event lateness" "${MEDIAN_chronon:-0}" "${MEDIAN_default:-0}"
# together: traces whose clock is chronon's correlate with each other (same
# non-absolute clock class: name and boot-id UUID); babeltrace2 2.0 treats
# only LTTng's clock named "monotonic" as Unix-epoch based, so mixing with
# a default-clock trace needs --clock-force-correlate.
together()
{
	local what=$1 n
	shift
	n=$(babeltrace2 "$@" 2>&1 | grep -c 'chronon_test:tick')
	[ "$n" = $((2 * COUNT)) ] ||
		fail "$what read together: $n events, expected $((2 * COUNT))"
}
together "two chronon traces" "$LTTNG_TMP/chronon" "$LTTNG_TMP/sessiondonly"
together "chronon and default-clock traces (forced)" --clock-force-correlate \
	"$LTTNG_TMP/default" "$LTTNG_TMP/chronon"

[ "$failures" = 0 ] || exit 1
echo "PASS"
