#!/bin/bash
# Fetches what the real-kernel rig needs, WITHOUT installing a kernel on this
# machine: qemu-system-x86 and cpio are installed with apt-get (as root); the
# kernel image, busybox-static, chrony (for the guest only) and the kernel
# source (for the timers selftests) are fetched with `apt-get download` and
# unpacked with dpkg-deb into DIR.  Nothing is fetched twice: a second run finds DIR complete.
#   fetch.sh DIR
set -euo pipefail
dir=${1:?usage: fetch.sh DIR}
mkdir -p "$dir/debs"
export DEBIAN_FRONTEND=noninteractive

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v cpio >/dev/null || need+=(cpio)
command -v xz >/dev/null || need+=(xz-utils)
command -v gcc >/dev/null || need+=(gcc libc6-dev)
command -v python3 >/dev/null || need+=(python3)
command -v setpriv >/dev/null || need+=(util-linux)
# chronyd's libraries (chronyd itself is only unpacked: installed, it
# would discipline THIS machine's clock).
for lib in libnettle8 libgnutls30 libcap2 libseccomp2; do
	dpkg -s "$lib" >/dev/null 2>&1 || need+=("$lib")
done
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "fetch.sh: missing ${need[*]}: install them (apt-get install) or run as root" >&2
		exit 1
	fi
	apt-get install -y -q --no-install-recommends "${need[@]}" || {
		apt-get update -q && apt-get install -y -q --no-install-recommends "${need[@]}"; }
fi

# The kernel package behind linux-image-amd64 (e.g. linux-image-6.1.0-57-amd64).
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$kpkg" ]; then
	apt-get update -q >/dev/null
	kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
fi
[ -n "$kpkg" ] || { echo "fetch.sh: cannot resolve linux-image-amd64" >&2; exit 1; }

unpack() { # PACKAGE TARGET
	local pkg=$1 target=$2
	[ -e "$target/.done" ] && return 0
	( cd "$dir/debs" && ls "${pkg}"_*.deb >/dev/null 2>&1 || apt-get download -q "$pkg" )
	rm -rf "$target" && mkdir -p "$target"
	dpkg-deb -x "$(ls "$dir/debs/${pkg}"_*.deb | head -1)" "$target"
	touch "$target/.done"
}
unpack "$kpkg" "$dir/kernel"
unpack busybox-static "$dir/busybox"
unpack linux-source-6.1 "$dir/linux-source"
unpack chrony "$dir/chrony"
ls "$dir"/kernel/boot/vmlinuz-* >/dev/null
echo "fetch.sh: $kpkg, busybox-static, chrony and linux-source-6.1 in $dir"
