#!/bin/bash
# make test-deb: the packages `make deb` built, installed with dpkg into a
# throwaway root (dpkg --root; never this machine's own /), checked, used
# and purged; then lintian.
#
# The root's dpkg database lists the packages the .debs depend on, copied
# from this machine's database with their versions, so dpkg checks every
# Depends for real without a whole system in the root.  Maintainer scripts
# run outside the root (--force-script-chrootless) with DPKG_ROOT set, and
# do nothing then: the test also proves that.  Programs are run from the
# root with this machine's libc.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
out=$(realpath -m "${DEB_OUT:-$src/build-deb}")
version=$(sed -n 's/^project(chronon VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
pkgs=(libchronon0 libchronon-dev chronon)
debs=()
for p in "${pkgs[@]}"; do
	d=$out/${p}_${version}_${arch}.deb
	[ -f "$d" ] || { echo "FAIL: $d missing (make deb)"; exit 1; }
	debs+=("$d")
done
if [ "$(id -u)" != 0 ]; then
	echo "test-deb: needs root (dpkg --root writes files owned by root)"
	exit 1
fi

root=$(mktemp -d /tmp/chronon-deb-root.XXXXXX)
tmp=$(mktemp -d)
trap 'rm -rf "$root" "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
section() { printf -- '--- %s\n' "$*"; }

# ---- a root with a dpkg database that has our dependencies ----
admin=$root/var/lib/dpkg
mkdir -p "$admin/info" "$admin/updates" "$admin/triggers"
: >"$admin/available"
: >"$admin/status"
deps=$(for d in "${debs[@]}"; do dpkg-deb -f "$d" Depends; dpkg-deb -f "$d" Pre-Depends; done |
	tr ',|' '\n\n' | sed 's/(.*)//; s/:any//; s/ //g' | grep -v '^$' | sort -u)
for dep in $deps; do
	case " ${pkgs[*]} " in *" $dep "*) continue ;; esac
	if dpkg-query -s "$dep" >>"$admin/status" 2>/dev/null; then
		# Its files are not in the root, and dpkg is told so.
		: >"$admin/info/$(dpkg-query -W -f '${binary:Package}' "$dep").list"
	else
		bad "dependency $dep is not installed on this machine"
	fi
	echo >>"$admin/status"
done
section "dependencies: $(echo $deps)"

dpkg_root() { dpkg --root="$root" --force-script-chrootless --log="$tmp/dpkg.log" "$@"; }
# Scripts see DPKG_ROOT and must not touch this machine: a systemctl or
# deb-systemd-invoke they ran would land in this log.
mkdir -p "$tmp/bin"
for tool in systemctl deb-systemd-invoke deb-systemd-helper; do
	printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\n' "$tool" "$tmp" >"$tmp/bin/$tool"
	chmod +x "$tmp/bin/$tool"
done
export PATH="$tmp/bin:$PATH"

# ---- install ----
section "install"
dpkg_root -i "${debs[@]}" || { echo "FAIL: dpkg -i"; exit 1; }
for p in "${pkgs[@]}"; do
	st=$(dpkg-query --admindir="$admin" -W -f '${Status} ${Version}' "$p")
	[ "$st" = "install ok installed $version" ] || bad "$p: $st"
done

# ---- files ----
lib=usr/lib/$multiarch
for f in usr/bin/chronon usr/sbin/chronond lib/systemd/system/chronond.service \
	"$lib/chronon/libchronon-preload.so" usr/share/man/man1/chronon.1.gz \
	usr/share/man/man8/chronond.8.gz \
	"$lib/libchronon.so.0" "$lib/libchronon.so.$version" \
	usr/include/chronon.h usr/include/chronon.hpp "$lib/libchronon.so" "$lib/libchronon.a" \
	"$lib/pkgconfig/chronon.pc" "$lib/cmake/chronon/chronon-config.cmake" \
	"$lib/cmake/chronon/chronon-config-version.cmake" usr/share/man/man3/chronon.3.gz \
	usr/share/man/man3/chronon_gettime.3.gz; do
	[ -e "$root/$f" ] || bad "$f is not installed"
done
for p in "${pkgs[@]}"; do
	[ -f "$root/usr/share/doc/$p/copyright" ] || bad "$p has no copyright file"
done
# Everything root's, nothing writable by others, no set-id bits.
odd=$(find "$root" -path "$admin" -prune -o \( \! -user root -o \! -group root -o -perm -o+w \
	\! -type l -o -perm /6000 \) -print)
[ -z "$odd" ] || bad "odd owners or modes:"$'\n'"$odd"
grep -qx "ExecStart=/usr/sbin/chronond --foreground --page /run/chronon/page" \
	"$root/lib/systemd/system/chronond.service" || bad "the unit does not start /usr/sbin/chronond"
section "files: $(dpkg-query --admindir="$admin" -L "${pkgs[@]}" | wc -l) paths"

# ---- it runs from the root ----
out_status=$("$root/usr/bin/chronon" status 2>&1) || bad "chronon status failed:"$'\n'"$out_status"
grep -q '^counter ' <<<"$out_status" || bad "chronon status printed no counter:"$'\n'"$out_status"
echo "$out_status" | head -n 3
"$root/usr/sbin/chronond" --help >/dev/null || bad "chronond --help failed"
# A program built against the -dev package, with the library from the root.
export PKG_CONFIG_PATH=$root/$lib/pkgconfig
if command -v pkg-config >/dev/null; then
	# shellcheck disable=SC2046
	cc -o "$tmp/consumer" "$src/tests/install/consumer/consumer.c" \
		$(pkg-config --cflags --libs chronon) -Wl,-rpath,"$root/$lib" ||
		bad "cannot build against libchronon-dev"
	[ ! -x "$tmp/consumer" ] || "$tmp/consumer" "$root/usr" | tail -n 1 || bad "the consumer failed"
fi
# chronon(3) from the package renders, the links lead to it.
if command -v man >/dev/null && man --version >/dev/null 2>&1; then
	w=$(MANPATH=$root/usr/share/man man --warnings -E UTF-8 chronon_gettime 2>&1 >/dev/null) ||
		bad "man chronon_gettime failed: $w"
	[ -z "$w" ] || bad "man chronon_gettime warns: $w"
fi

# The packaged unit (its /usr/sbin path, /lib/systemd/system) verified in a
# copy of the root that also has this machine's own units.
if command -v systemd-analyze >/dev/null; then
	vroot=$tmp/vroot
	cp -a "$root" "$vroot"
	mkdir -p "$vroot/usr/lib/systemd"
	cp -a /usr/lib/systemd/system "$vroot/usr/lib/systemd/"
	v=$(systemd-analyze verify --man=no --root="$vroot" "$vroot/lib/systemd/system/chronond.service" 2>&1) ||
		bad "systemd-analyze verify failed on the packaged unit"
	[ -z "$v" ] || bad "systemd-analyze verify on the packaged unit says:"$'\n'"$v"
	rm -rf "$vroot"
	section "the packaged unit passes systemd-analyze verify"
fi

# ---- purge: nothing left ----
section "purge"
dpkg_root --purge chronon libchronon-dev libchronon0 || bad "dpkg --purge"
left=$(find "$root" -mindepth 1 \( -path "$root/var" -o -path "$root/var/lib" -o -path "$admin" \
	-o -path "$admin/*" \) -prune -o -print)
[ -z "$left" ] || bad "left after purge:"$'\n'"$left"
for p in "${pkgs[@]}"; do
	st=$(dpkg-query --admindir="$admin" -W -f '${Status}' "$p" 2>/dev/null || echo "not-installed")
	case $st in *not-installed*) ;; *) bad "$p still known to dpkg: $st" ;; esac
done
if [ -s "$tmp/calls" ]; then
	bad "maintainer scripts acted on this machine:"$'\n'"$(cat "$tmp/calls")"
fi

# ---- lintian ----
section "lintian"
if command -v lintian >/dev/null; then
	# The info tags that remain are explained in the README (Install, Debian).
	rc=0
	lintian -I --fail-on error,warning "${debs[@]}" >"$tmp/lintian" 2>&1 || rc=$?
	grep -v 'running with root privileges' "$tmp/lintian" || true
	[ $rc = 0 ] || bad "lintian reports errors or warnings"
else
	bad "lintian is not installed (Debian: lintian)"
fi

[ $fail = 0 ] && echo "test-deb: ok"
exit $fail
