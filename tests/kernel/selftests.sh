#!/bin/bash
# Builds the Linux kernel's timers selftests (tools/testing/selftests/timers
# of Debian's linux-source-6.1, unpacked by fetch.sh) as programs
# into OUT, for the rig's guest.  Nothing of the kernel tree enters the
# repository: the sources are read from the package at run time.  They are
# linked dynamically: the preload must be able to enter them.
#   selftests.sh FETCH_DIR OUT
set -euo pipefail
src=${1:?usage: selftests.sh FETCH_DIR OUT}
out=${2:?usage: selftests.sh FETCH_DIR OUT}
[ -e "$out/.done" ] && exit 0
tarball=$(ls "$src"/linux-source/usr/src/linux-source-*.tar.xz | head -1)
tmp="$out.src"
rm -rf "$tmp" "$out" && mkdir -p "$tmp" "$out"
top=$(basename "$tarball" .tar.xz)
tar -xJf "$tarball" -C "$tmp" "$top/tools/testing/selftests/timers" "$top/tools/testing/selftests/kselftest.h"
dir="$tmp/$top/tools/testing/selftests/timers"
for c in "$dir"/*.c; do
	name=$(basename "$c" .c)
	gcc -O2 -o "$out/$name" "$c" -lrt -lpthread -lm 2>"$out/$name.build.log" ||
		echo "selftests.sh: $name did not build (see $out/$name.build.log)"
done
rm -rf "$tmp"
touch "$out/.done"
echo "selftests.sh: $(ls "$out" | grep -vc '\.log$') timers selftests built in $out"
