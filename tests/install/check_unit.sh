#!/bin/bash
# The installed systemd unit: systemd-analyze verify passes without a
# word, its exposure stays low, the system calls chronond makes are all in
# its SystemCallFilter, and chronond works with the privilege the unit
# leaves it (uid 0, no capability, no new privileges) while a page written
# by any other user is refused by root's readers (why the unit has no
# User= or DynamicUser=: see chronond(8)).
#   check_unit.sh BUILD_DIR [SANITIZE] [cross]
# (cross: a cross build, whose chronond cannot run here: verify only)
# Exit 0 pass, 1 fail, 77 skip (no systemd-analyze).
set -euo pipefail
build=$1 sanitize=${2:-} cross=${3:-}
if ! command -v systemd-analyze >/dev/null; then
	echo "SKIP: systemd-analyze is not installed (Debian: systemd)"
	exit 77
fi
tmp=$(mktemp -d)
# Where nothing vouches for the CPU's counter but it ticks steadily (the
# kernel's constant_tsc and nonstop_tsc: an invariant TSC), force it, as
# every test program does (tests/force_counter.c): chronond runs only on a
# counter, and the unit is what is tested here.
if [ -z "${CHRONON_COUNTER:-}" ] && grep -qw constant_tsc /proc/cpuinfo &&
	grep -qw nonstop_tsc /proc/cpuinfo; then
	export CHRONON_COUNTER=tsc
fi
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for lock in "$tmp"/*/page.lock; do
		[ -f "$lock" ] && kill "$(cat "$lock")" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# The installed tree, at its real paths under a root that also has the
# system's own units (the targets the unit is ordered against).
root=$tmp/root
DESTDIR=$root cmake --install "$build" >/dev/null
unit=$(cd "$root" && find . -path '*/lib/systemd/system/chronond.service' | sed 's/^\.//')
[ -n "$unit" ] || { echo "FAIL: chronond.service is not installed"; exit 1; }
mkdir -p "$root/usr/lib/systemd"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp "$root$unit" "$root/usr/lib/systemd/system/chronond.service"
echo "unit: $unit"

exec_start=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$root$unit")
[ -x "$root$exec_start" ] || bad "ExecStart $exec_start is not the installed chronond"
sbindir=$(dirname "$exec_start")
mandir=$(dirname "$(find "$root" -name chronond.8 | head -n1)")

out=$(MANPATH=$(dirname "$mandir") SYSTEMD_LOG_LEVEL=info \
	systemd-analyze verify --root="$root" "$root$unit" 2>&1) || bad "systemd-analyze verify failed"
[ -z "$out" ] || bad "systemd-analyze verify says:"$'\n'"$out"

for want in 'RuntimeDirectory=chronon' 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
	'CapabilityBoundingSet=' 'ExecStart=.* --page /run/chronon/page'; do
	grep -qx "$want" "$root$unit" || grep -qx "$want.*" "$root$unit" || bad "the unit lacks $want"
done
grep -qx 'CapabilityBoundingSet=' "$root$unit" || bad "the unit keeps capabilities"

# The exposure systemd itself computes (0 best, 10 worst): this unit
# scores 1.2 with systemd 252; 2.0 leaves room for its scoring to drift.
if sec=$(systemd-analyze security --offline=yes --root="$root" --threshold=20 \
	"$root$unit" 2>&1); then
	echo "$sec" | tail -n1
else
	echo "$sec" | grep -v '✓'
	bad "exposure above 2.0"
fi

if [ "$(id -u)" != 0 ] || [ -n "$cross" ]; then
	echo "(not root or a cross build: the privilege and system call checks are left out)"
	[ $fail = 0 ] && echo ok
	exit $fail
fi

chronond=$root$exec_start
chronon=$root$sbindir/../bin/chronon
[ -x "$chronon" ] || chronon=$(find "$root" -type f -name chronon -perm -u+x | head -n1)

page_used() { # page_used PATH: what `chronon status` says of the page
	CHRONON_PAGE=$1 "$chronon" status --warmup 5 | sed -n 's/^page *//p'
}
wait_for() { # wait_for FILE: up to 10 s
	for _ in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.1; done
	return 1
}

# 1. As the unit runs it: uid 0 with every capability gone.
if ! setpriv --no-new-privs --bounding-set=-all --inh-caps=-all true 2>/dev/null; then
	bad "setpriv cannot drop the capability bounding set here (no CAP_SETPCAP?)"
fi
mkdir -m 0755 "$tmp/run"
setpriv --pdeathsig KILL --no-new-privs --bounding-set=-all --inh-caps=-all \
	"$chronond" --foreground --page "$tmp/run/page" --interval 50ms 2>"$tmp/d1.log" &
pids+=($!)
if wait_for "$tmp/run/page"; then
	caps=$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/${pids[0]}/status" 2>/dev/null || echo gone)
	[ "$caps" = 0000000000000000 ] || bad "chronond kept capabilities: CapEff $caps"
	got=$(page_used "$tmp/run/page")
	[ "$got" = "$tmp/run/page" ] || bad "a capability-less chronond's page was not used: $got"
	echo "uid 0 without capabilities: page used ($got)"
else
	bad "chronond without capabilities published no page: $(cat "$tmp/d1.log")"
fi
kill "${pids[0]}" 2>/dev/null || true; wait "${pids[0]}" || true

# 2. As any other user (what User= or DynamicUser= would give): readers
# running as root refuse its page.
chmod 0711 "$tmp"
mkdir -m 0777 "$tmp/user"
setpriv --pdeathsig KILL --reuid=65534 --regid=65534 --clear-groups --no-new-privs \
	"$chronond" --foreground --page "$tmp/user/page" --interval 50ms 2>"$tmp/d2.log" &
pids+=($!)
if wait_for "$tmp/user/page"; then
	sleep 0.2
	got=$(page_used "$tmp/user/page")
	case $got in
	process:*"by uid 65534"*) echo "uid 65534: page refused, as it must be ($got)" ;;
	*) bad "a page owned by uid 65534 was not refused: $got" ;;
	esac
else
	bad "chronond as uid 65534 published no page: $(cat "$tmp/d2.log")"
fi
kill "${pids[1]}" 2>/dev/null || true; wait "${pids[1]}" || true

# 3. Every system call chronond makes is inside the unit's filter.  Not in
# sanitized builds: their runtimes make calls of their own.
filter=$(sed -n 's/^SystemCallFilter=//p' "$root$unit")
if [ -n "$sanitize" ]; then
	echo "(sanitized build: the system call check is left out)"
elif ! command -v strace >/dev/null; then
	echo "(no strace: the system call check is left out)"
elif ! strace -f -qq -o /dev/null true 2>/dev/null; then
	echo "(strace cannot trace here, e.g. ptrace forbidden in a container: the system call check is left out)"
elif [ -z "$filter" ]; then
	bad "the unit has no SystemCallFilter"
else
	mkdir -m 0755 "$tmp/st"
	# Each process dies with its parent: nothing outlives a killed test.
	setpriv --pdeathsig KILL strace -f -qq -I1 -o "$tmp/strace.log" \
		setpriv --pdeathsig KILL "$chronond" --foreground --page "$tmp/st/page" --interval 10ms 2>"$tmp/d3.log" &
	pids+=($!)
	wait_for "$tmp/st/page" || bad "chronond under strace published no page"
	sleep 1
	page_used "$tmp/st/page" >/dev/null
	# The daemon itself (its pid is in the lock file); strace follows it out.
	kill "$(cat "$tmp/st/page.lock")" 2>/dev/null || true
	kill "${pids[2]}" 2>/dev/null || true; wait "${pids[2]}" || true
	# Groups name groups: expand until only system calls are left.
	allowed=" " queue=($filter) seen=" "
	while [ ${#queue[@]} -gt 0 ]; do
		item=${queue[0]} queue=("${queue[@]:1}")
		[[ $seen == *" $item "* ]] && continue
		seen+="$item "
		if [[ $item == @* ]]; then
			queue+=($(systemd-analyze syscall-filter "$item" | tail -n +2 | sed 's/#.*//'))
		else
			allowed+="$item "
		fi
	done
	used=$(sed -n 's/^[0-9]* *\([a-z0-9_]*\)(.*/\1/p' "$tmp/strace.log" | sort -u)
	[ -n "$used" ] || bad "strace saw no system call"
	for call in $used; do
		[[ $allowed == *" $call "* ]] || bad "chronond calls $call, outside SystemCallFilter=$filter"
	done
	echo "system calls made by chronond (and setpriv before it): $(echo $used | wc -w)"
fi

[ $fail = 0 ] && echo ok
exit $fail
