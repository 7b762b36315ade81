# Shared by e2e.sh and bench.sh: a private lttng-sessiond that is always
# stopped, and a private LTTNG_HOME that is always removed.
#
# A sessiond run by root is the system-wide one: it uses /var/run/lttng
# whatever LTTNG_HOME says.  Only a non-root sessiond is private to its
# LTTNG_HOME, so when started as root these scripts re-run themselves as
# nobody (setpriv), after checking nobody can reach the built files.

LTTNG_SKIP=77

lttng_skip()
{
	echo "SKIP: $*"
	exit "$LTTNG_SKIP"
}

lttng_fail()
{
	echo "FAIL: $*" >&2
	exit 1
}

# lttng_require_tools: skips unless lttng-tools and babeltrace2 are here.
lttng_require_tools()
{
	local tool
	for tool in lttng lttng-sessiond babeltrace2; do
		command -v "$tool" >/dev/null 2>&1 ||
			lttng_skip "$tool not installed (Debian: lttng-tools babeltrace2)"
	done
}

# lttng_drop_root SCRIPT ARGS...: as root, re-exec SCRIPT as nobody.
lttng_drop_root()
{
	local f
	[ "$(id -u)" = 0 ] || return 0
	command -v setpriv >/dev/null 2>&1 ||
		lttng_skip "running as root and setpriv is missing: a root lttng-sessiond is the system-wide one"
	for f in "$@"; do
		case "$f" in /*) ;; *) continue ;; esac
		setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$f" ||
			lttng_skip "running as root and nobody cannot read $f"
	done
	exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
}

LTTNG_TMP=""
SESSIOND_PID=""
LTTNG_SHM_BEFORE=""

# lttng_private_home: a fresh LTTNG_HOME, removed (with any daemon) on exit.
lttng_private_home()
{
	LTTNG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/chronon-lttng.XXXXXX") ||
		lttng_fail "mktemp"
	export LTTNG_HOME="$LTTNG_TMP"
	export HOME="$LTTNG_TMP"
	# Without it an application may start before registering (3 s default)
	# and lose its first events.
	export LTTNG_UST_REGISTER_TIMEOUT=-1
	# lttng-ust leaves its wait-for-sessiond shm objects in /dev/shm; remove
	# the ones this run creates, keep those that were there.
	LTTNG_SHM_BEFORE=$(ls /dev/shm 2>/dev/null | grep '^lttng-ust-wait' || true)
	trap lttng_cleanup EXIT
	trap 'exit 130' INT TERM HUP
	lttng_watch
}

# lttng_watch: when this script dies without its EXIT trap (ctest's SIGKILL
# at the timeout), a watcher kills the daemonized sessiond and its children
# and removes LTTNG_HOME.  Started twice removed, so that it is no longer a
# child of the script when ctest kills the script's process tree.
lttng_watch()
{
	local script=$$ home=$LTTNG_TMP
	( (
		exec </dev/null >/dev/null 2>&1
		while kill -0 "$script" 2>/dev/null; do sleep 1; done
		pidfile="$home/.lttng/lttng-sessiond.pid"
		if [ -s "$pidfile" ]; then
			pid=$(cat "$pidfile")
			kill -KILL $(descendants "$pid") "$pid" 2>/dev/null
		fi
		rm -rf "$home"
	) & )
}

lttng_cleanup()
{
	local rc=$? f
	sessiond_stop || rc=1
	[ -n "$LTTNG_TMP" ] && rm -rf "$LTTNG_TMP"
	for f in $(ls /dev/shm 2>/dev/null | grep '^lttng-ust-wait' || true); do
		printf '%s\n' "$LTTNG_SHM_BEFORE" | grep -qx "$f" || rm -f "/dev/shm/$f"
	done
	exit "$rc"
}

# alive PID: running and not a zombie (a daemon's reaper may be slow).
alive()
{
	local state
	state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ]
}

# descendants PID: every process below PID (sessiond's run-as helper, the
# consumer daemon and its own helper).
descendants()
{
	local child
	for child in $(pgrep -P "$1" 2>/dev/null); do
		echo "$child"
		descendants "$child"
	done
}

# sessiond_start [PLUGIN]: a daemonized sessiond, with the clock plugin when
# PLUGIN is not empty; its pid (from its pid file) in SESSIOND_PID.
sessiond_start()
{
	local plugin=$1 pidfile="$LTTNG_HOME/.lttng/lttng-sessiond.pid"
	if [ -n "$plugin" ]; then
		LTTNG_UST_CLOCK_PLUGIN=$plugin lttng-sessiond --daemonize --no-kernel --quiet
	else
		env -u LTTNG_UST_CLOCK_PLUGIN lttng-sessiond --daemonize --no-kernel --quiet
	fi || lttng_fail "lttng-sessiond did not start"
	[ -s "$pidfile" ] || lttng_fail "no pid file $pidfile"
	SESSIOND_PID=$(cat "$pidfile")
	alive "$SESSIOND_PID" || lttng_fail "sessiond $SESSIOND_PID is not running"
}

# sessiond_stop: SIGTERM to the sessiond, then wait for it and everything
# it started to exit (20 s, then SIGKILL and a failure).
sessiond_stop()
{
	local pids pid i
	[ -n "$SESSIOND_PID" ] || return 0
	pids="$SESSIOND_PID $(descendants "$SESSIOND_PID")"
	SESSIOND_PID=""
	kill -TERM "${pids%% *}" 2>/dev/null
	for i in $(seq 200); do
		for pid in $pids; do
			alive "$pid" && break
			pid=""
		done
		[ -z "$pid" ] && return 0
		sleep 0.1
	done
	echo "lttng daemons still running after 20 s: $pids; killing them" >&2
	for pid in $pids; do
		kill -KILL "$pid" 2>/dev/null
	done
	return 1
}

# lttng_q ARGS...: the lttng command, quiet unless it fails.
lttng_q()
{
	local out
	out=$(lttng "$@" 2>&1) || lttng_fail "lttng $*: $out"
}
