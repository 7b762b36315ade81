#!/bin/sh
# /init of the rig's qemu guest (PID 1; busybox sh).  Mounts the kernel's
# file systems, leaves the marker the event driver looks for, starts the
# readers, runs the driver's scenarios and the project's suite, and powers
# off.  Everything it prints goes to the serial console the host reads:
# lines starting KT- are results, @@KT-HOST asks the host runner for
# something (stop the VM), @@KT-DONE ends the run.
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
[ -e /usr/bin/sh ] || ln -s /bin/busybox /usr/bin/sh # ctest's commands name /usr/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/kt /run/chronon /dev/shm
mount -t tmpfs tmpfs /dev/shm
touch /run/kt/guest
mkdir -p /etc
echo 'root:x:0:0:root:/:/bin/sh' >/etc/passwd
echo 'root:x:0:' >/etc/group

arg() { # the value of NAME=... on the kernel's command line
	for w in $(cat /proc/cmdline); do
		case $w in "$1"=*) echo "${w#*=}"; return;; esac
	done
}
scenarios=$(arg kt_scenarios | tr , ' ')
suite=$(arg kt_suite)
boot=$(arg kt_boot)
[ "$(arg kt_force_tsc)" = 1 ] && export CHRONON_COUNTER=tsc

cs=/sys/devices/system/clocksource/clocksource0
echo "KT-NOTE guest $boot: kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPUs," \
	"clocksource $(cat $cs/current_clocksource) (available: $(cat $cs/available_clocksource))," \
	"TSC flags: $(grep -o -w 'constant_tsc\|nonstop_tsc\|tsc_known_freq\|tsc_reliable' /proc/cpuinfo | sort -u | tr '\n' ' ')" \
	"CHRONON_COUNTER=${CHRONON_COUNTER:-unset}"

B=/chronon/build
export KT_CHRONOND=$B/daemon/chronond KT_PRELOAD=$B/preload/libchronon-preload.so
export KT_SELFTESTS_DIR=/selftests
for v in KT_BOUND_NS KT_SETTLE_MS KT_BOUND_SETTLE_MS KT_SELFTESTS KT_CHURN; do
	val=$(arg "$(echo $v | tr A-Z a-z)")
	[ -n "$val" ] && export "$v=$(echo "$val" | tr , ' ' | tr ' ' ,)"
done

if [ -n "$scenarios" ]; then
	$B/tests/kt_events init || echo "KT-RESULT setup FAIL: kt_events init"
	CHRONON_PAGE=off $B/tests/kt_reader inproc 2 --bound &
	CHRONON_PAGE=/run/chronon/page $B/tests/kt_reader page 1 &
	LD_PRELOAD=$KT_PRELOAD $B/tests/kt_reader_plain preload 1 &
	# The driver must be PID 1's own child: its guard checks.
	$B/tests/kt_events run $scenarios
	wait
	$B/tools/chronon status 2>&1 | sed 's/^/KT-STATUS /' | head -12
fi

if [ "$suite" = 1 ]; then
	sh /chronon/suite.sh /chronon/suite.list
fi
echo "@@KT-DONE"
sync
poweroff -f
