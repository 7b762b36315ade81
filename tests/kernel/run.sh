#!/bin/bash
# make test-kernel: chronon inside a qemu guest whose clock is stepped,
# slewed, switched, paused and leapt (the README's "How it is proven"
# describes the rig and its figures).
#
# Fetches a Debian kernel, busybox and the kernel's source without
# installing any of them on this machine (fetch.sh), builds the timers
# selftests (selftests.sh), packs the project's build into an initramfs,
# boots it with no network, runs the scenarios inside (init.sh, kt_events,
# kt_reader) and passes or fails on what the readers there saw.  The host
# only ever reads the console and, when the guest asks, stops and continues
# its own qemu process by pid.
#
# Environment (all optional):
#   BUILD                   the project's build directory (default build)
#   TEST_KERNEL_DIR         where packages, initramfs and logs go (BUILD/kernel)
#   TEST_KERNEL_SCENARIOS   comma list (default: every scenario) for the main boot
#   TEST_KERNEL_SCENARIOS_CLOCK  scenarios of the kvm-clock boots
#   TEST_KERNEL_BOOTS       space list of: main kvm-clock kvm-clock-unstable
#                           (default: all three with KVM, main without)
#   TEST_KERNEL_ACCEL       auto | kvm | tcg
#   TEST_KERNEL_SUITE       1 (default) runs the project's suite in the main boot
#                           (judged as the result "suite": every test passes or skips)
#   TEST_KERNEL_TIMEOUT     seconds per boot (default 900)
#   TEST_KERNEL_SMP         guest CPUs (default 2)
#   TEST_KERNEL_KNOWN       comma list of scenarios known to fail today (open
#                           issues): their failures are reported, loudly, as
#                           known, and do not fail the run; a known one that
#                           passes is reported too, so the list can shrink
#   TEST_KERNEL_KNOWN_CLOCK the same for the kvm-clock boots (default: the
#                           main boot's list; they have not run on a machine
#                           of this project's yet)
#   KT_BOUND_NS, KT_SETTLE_MS, KT_BOUND_SETTLE_MS, KT_SELFTESTS, KT_CHURN
#                           passed to the guest's event driver (kt_events.c)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${BUILD:-$root/build}" && pwd)
work=${TEST_KERNEL_DIR:-$build/kernel}
mkdir -p "$work"
work=$(cd "$work" && pwd)
all=baseline,steps,freq,ntp,chrony,clocksource,gaps,daemon,selftests
scenarios=${TEST_KERNEL_SCENARIOS:-$all}
clock_scenarios=${TEST_KERNEL_SCENARIOS_CLOCK:-baseline,steps,freq,clocksource,gaps,daemon}
timeout_s=${TEST_KERNEL_TIMEOUT:-900}
suite=${TEST_KERNEL_SUITE:-1}
known=",${TEST_KERNEL_KNOWN:-},"
known_clock=",${TEST_KERNEL_KNOWN_CLOCK-${TEST_KERNEL_KNOWN:-}},"
smp=${TEST_KERNEL_SMP:-2}
started=$SECONDS

accel=${TEST_KERNEL_ACCEL:-auto}
if [ "$accel" = auto ]; then
	accel=tcg
	if [ -r /dev/kvm ] && [ -w /dev/kvm ] && python3 - <<'PY' 2>/dev/null; then accel=kvm; fi
import fcntl, os
fd = os.open("/dev/kvm", os.O_RDWR)
assert fcntl.ioctl(fd, 0xAE00) == 12  # KVM_GET_API_VERSION
PY
fi

# ---- what the guest needs ----
"$here/fetch.sh" "$work"
case ",$scenarios,$clock_scenarios," in *,selftests,*) "$here/selftests.sh" "$work" "$work/selftests";; esac
for f in tests/kt_events tests/kt_reader tests/kt_reader_plain daemon/chronond preload/libchronon-preload.so tools/chronon; do
	[ -e "$build/$f" ] || { echo "test-kernel: $build/$f missing: run make build first" >&2; exit 1; }
done

# ---- the initramfs ----
rootfs=$work/root
rm -rf "$rootfs"
mkdir -p "$rootfs/bin" "$rootfs/chronon/build" "$rootfs/selftests"
cp "$work/busybox/bin/busybox" "$rootfs/bin/busybox"
ln -s busybox "$rootfs/bin/sh"
install -m 755 "$here/init.sh" "$rootfs/init"
install -m 755 "$here/suite.sh" "$rootfs/chronon/suite.sh"
# Every program and library of the build (not its objects), at the same
# place under /chronon/build.
(cd "$build" && find . -path ./kernel -prune -o -path '*/CMakeFiles' -prune -o -type f \
	\( -perm -u+x -o -name '*.so*' \) -print) | while read -r f; do
	mkdir -p "$rootfs/chronon/build/$(dirname "$f")"
	cp -P "$build/$f" "$rootfs/chronon/build/$f"
done
(cd "$build" && find . -path ./kernel -prune -o -type l -name '*.so*' -print) | while read -r f; do
	mkdir -p "$rootfs/chronon/build/$(dirname "$f")"; cp -P "$build/$f" "$rootfs/chronon/build/$f"
done
mkdir -p "$rootfs/usr/sbin"
cp "$work/chrony/usr/sbin/chronyd" "$rootfs/usr/sbin/chronyd"
# This machine's own date, dynamically linked: the preload tests run it as
# an unmodified program, and busybox's (static) would never load the shim.
# /init's busybox --install leaves an existing /bin/date alone.
host_date=$(command -v date || true)
if [ -n "$host_date" ] && ldd "$host_date" >/dev/null 2>&1; then
	cp -L "$host_date" "$rootfs/bin/date"
fi
if [ -d "$work/selftests" ]; then
	find "$work/selftests" -maxdepth 1 -type f -perm -u+x -exec cp {} "$rootfs/selftests/" \;
fi
# The libraries they need, from this machine, at the same paths.
find "$rootfs/chronon" "$rootfs/selftests" "$rootfs/usr/sbin" "$rootfs/bin" -type f | while read -r f; do
	[ "$(head -c 4 "$f" | tail -c 3)" = ELF ] || continue
	ldd "$f" 2>/dev/null | grep -o '/[^ ]*' || true
done | sort -u | while read -r lib; do
	[ -e "$lib" ] || continue
	mkdir -p "$rootfs$(dirname "$lib")"
	cp -L "$lib" "$rootfs$lib"
done
# The suite's list: ctest's own description, moved to the guest's paths.
(cd "$build" && ctest --show-only=json-v1) | python3 -c '
import json, shlex, sys
build, src = sys.argv[1], sys.argv[2]
for t in json.load(sys.stdin)["tests"]:
    cmd = t.get("command") or []
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    line = " ".join(shlex.quote(c) for c in cmd)
    if not cmd or src + "/" in line.replace(build + "/", ""):
        print("# %s needs the source tree: not run in the guest" % t["name"], file=sys.stderr)
        continue
    env = " ".join(shlex.quote(e) for e in props.get("ENVIRONMENT", []))
    line = line.replace(build, "/chronon/build")
    if env:
        line = "env " + env + " " + line
    print("\t".join([t["name"], str(int(float(props.get("TIMEOUT", 600)))),
                     str(props.get("SKIP_RETURN_CODE", "")),
                     props.get("WORKING_DIRECTORY", "/").replace(build, "/chronon/build"), line]))
' "$build" "$root" > "$rootfs/chronon/suite.list"
(cd "$rootfs" && find . | cpio -o -H newc --quiet) > "$work/initramfs.cpio"
kernel=$(ls "$work"/kernel/boot/vmlinuz-* | head -1)
echo "test-kernel: $(basename "$kernel"), initramfs $(( $(stat -c %s "$work/initramfs.cpio") / 1048576 )) MB, ready after $((SECONDS - started)) s"

# /dev/kvm answering is not enough: some hosts' KVM (PVM, for one) runs
# only guests built for it.  A stock kernel must reach the guest's /init
# under KVM within 40 s, or the run uses TCG.
kvm_cpu=host,+invtsc
kvm_boots() {
	[ "${TEST_KERNEL_ACCEL:-auto}" = auto ] || return 0
	local out
	out=$(timeout 40 setpriv --pdeathsig KILL -- qemu-system-x86_64 -nodefaults -no-user-config \
		-display none -no-reboot -m 512 -accel kvm -cpu "$kvm_cpu" -serial stdio \
		-kernel "$kernel" -initrd "$work/initramfs.cpio" \
		-append "console=ttyS0 quiet panic=-1 kt_boot=probe" </dev/null 2>&1 | grep -m1 -a "KT-NOTE guest") || true
	[ -n "$out" ] && return 0
	echo "test-kernel: /dev/kvm is there but a stock kernel does not boot under it here: using TCG"
	return 1
}
[ "$accel" = kvm ] && ! kvm_boots && accel=tcg
if [ "$accel" = kvm ]; then
	boots=${TEST_KERNEL_BOOTS:-main kvm-clock kvm-clock-unstable}
else
	boots=${TEST_KERNEL_BOOTS:-main}
fi
echo "test-kernel: accelerator $accel, boots: $boots"

# ---- the boots ----
qpid=
cleanup() { if [ -n "$qpid" ]; then kill -CONT "$qpid" 2>/dev/null; kill -KILL "$qpid" 2>/dev/null; fi; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

kt_args=
for v in KT_BOUND_NS KT_SETTLE_MS KT_BOUND_SETTLE_MS KT_SELFTESTS KT_CHURN; do
	[ -n "${!v:-}" ] && kt_args="$kt_args $(echo "$v" | tr A-Z a-z)=$(echo "${!v}" | tr ' ' ,)"
done

overall=0
summary=
# A counted failure's own lines from the console (what failed, and the
# readings told as they happened), for the summary: CI keeps only the end
# of its output, where the summary is printed again.
why() { # LOG SCENARIO
	awk -v s="$2" '
		/^KT-RESULT / { if ($2 == s) { for (i = 0; i < n; i++) print "    " keep[i]; exit } n = 0; next }
		/^KT-(LATE|BACK|BOUNDMISS) / || /^KT-EVENT .*: FAIL / || /^KT-EVENT .*\|   (why|late|back)/ {
			if (n < 24) keep[n++] = substr($0, 1, 600)
		}' "$1"
}
boot() { # NAME SCENARIOS SUITE EXTRA-KERNEL-ARGS
	local name=$1 scen=$2 suite_on=$3 extra=$4
	local log=$work/console-$name.log fifo=$work/console.fifo
	local cpu append
	append="console=ttyS0 quiet panic=-1 tsc=nowatchdog mitigations=off kt_guest=1 kt_boot=$name"
	append="$append kt_scenarios=$scen kt_suite=$suite_on$kt_args $extra"
	if [ "$accel" = kvm ]; then
		cpu=(-accel kvm -cpu "$kvm_cpu")
	else
		# An Intel model: the guest kernel trusts its TSC (AMD under TCG
		# gets no tsc clocksource).  TCG cannot say the TSC is invariant,
		# so chronon is told to use it (kt_force_tsc).
		cpu=(-accel tcg,thread=multi -cpu max,vendor=GenuineIntel,family=6,model=85,stepping=4)
		append="$append kt_force_tsc=1"
	fi
	rm -f "$fifo"
	mkfifo "$fifo"
	echo "test-kernel: boot $name: $append"
	setpriv --pdeathsig KILL -- qemu-system-x86_64 -nodefaults -no-user-config -display none \
		-no-reboot -m 1536 -smp "$smp" "${cpu[@]}" -rtc base=utc \
		-global PIIX4_PM.disable_s3=0 \
		-kernel "$kernel" -initrd "$work/initramfs.cpio" -append "$append" \
		-chardev "file,id=con,path=$fifo" -serial chardev:con \
		</dev/null >"$work/qemu-$name.log" 2>&1 &
	qpid=$!
	local deadline=$((SECONDS + timeout_s)) done=0 line results="" t0=$SECONDS
	exec 3<"$fifo"
	: >"$log"
	while :; do
		local left=$((deadline - SECONDS))
		[ "$left" -gt 0 ] || { echo "test-kernel: boot $name: no end after $timeout_s s, stopping qemu"; break; }
		IFS= read -r -t "$left" line <&3 || break
		line=${line%$'\r'}
		printf '%s\n' "$line" >>"$log"
		case $line in
		@@KT-HOST\ stop\ *)
			local ms=${line#@@KT-HOST stop }
			kill -STOP "$qpid"
			sleep "$(awk -v ms="$ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
			kill -CONT "$qpid"
			echo "KT-HOST qemu (pid $qpid) stopped for $ms ms"
			;;
		@@KT-DONE) done=1 ;;
		KT-RESULT*) results="$results$line"$'\n'; echo "$line" ;;
		KT-* | *Kernel\ panic* | *BUG:* | *WARNING:*) echo "$line" ;;
		esac
	done
	exec 3<&-
	for _ in $(seq 50); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.2; done
	kill -KILL "$qpid" 2>/dev/null || true
	wait "$qpid" 2>/dev/null || true
	qpid=
	rm -f "$fifo"
	local ok=1 s kn=$known
	[ "$name" = main ] || kn=$known_clock
	[ "$done" = 1 ] || { ok=0; echo "test-kernel: boot $name did not finish (console: $log, qemu: $work/qemu-$name.log)"; }
	for s in $([ -n "$scen" ] && echo startup) $(echo "$scen" | tr , ' ') $([ "$suite_on" = 1 ] && echo suite) \
		$(sed -n 's/^KT-RESULT \([^ ]*\) .*/\1/p' <<<"$results" | sort -u); do
		case $summary in *"  $name/$s: "*) continue ;; esac
		if grep -q "^KT-RESULT $s PASS" <<<"$results"; then
			case $kn in *",$s,"*) summary="$summary  $name/$s: pass (listed as known to fail: take it off the list)"$'\n' ;;
			*) summary="$summary  $name/$s: pass"$'\n' ;; esac
			continue
		fi
		case $kn in
		*",$s,"*) summary="$summary  $name/$s: FAIL, KNOWN (an open issue; not counted)"$'\n' ;;
		*) ok=0; summary="$summary  $name/$s: FAIL"$'\n'
		   local w; w=$(why "$log" "$s"); [ -z "$w" ] || summary="$summary$w"$'\n' ;;
		esac
	done
	echo "test-kernel: boot $name $([ $ok = 1 ] && echo passed || echo FAILED) in $((SECONDS - t0)) s"
	[ $ok = 1 ] || overall=1
}

for b in $boots; do
	case $b in
	main) boot main "$scenarios" "$suite" "" ;;
	kvm-clock) boot kvm-clock "$clock_scenarios" 0 "clocksource=kvm-clock" ;;
	kvm-clock-unstable) boot kvm-clock-unstable "$clock_scenarios" 0 "clocksource=kvm-clock tsc=unstable" ;;
	*) echo "test-kernel: unknown boot $b"; overall=1 ;;
	esac
done
{
	printf 'test-kernel summary (%s, %d s):\n%s' "$accel" $((SECONDS - started)) "$summary"
	[ $overall = 0 ] && echo "test-kernel: PASS" || echo "test-kernel: FAIL"
} | tee "$work/summary.txt"
exit $overall
