#!/bin/bash
# Every installed man page renders without one groff warning, the library
# page names every public function of chronon.h and each has its link page,
# and documents every environment variable the library reads.
#   check_man.sh BUILD_DIR SOURCE_DIR
# Exit 0 pass, 1 fail, 77 skip (no groff).
set -euo pipefail
build=$1 src=$(realpath "$2")
if ! command -v groff >/dev/null; then
	echo "SKIP: groff is not installed (Debian: groff-base)"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/usr" >/dev/null
man=$tmp/usr/share/man
fail=0
bad() { echo "FAIL: $*"; fail=1; }

for want in man1/chronon.1 man8/chronond.8 man3/chronon.3; do
	[ -f "$man/$want" ] || bad "$want is not installed"
done

# As man(1) does: tbl only for pages that ask for it on their first line;
# .so links are resolved from the top of the man tree.
cd "$man"
pages=0
for page in man*/*; do
	pages=$((pages + 1))
	opts=(-ww -man -Tutf8)
	if head -n1 "$page" | grep -q "^'\\\\\" .*t"; then
		opts+=(-t)
	fi
	warnings=$(groff "${opts[@]}" -z "$page" 2>&1) || bad "$page: groff failed"
	[ -z "$warnings" ] || bad "$page: groff warns:"$'\n'"$warnings"
	text=$(groff "${opts[@]}" -P-cbou "$page" 2>/dev/null)
	grep -q "^NAME" <<<"$text" || bad "$page: renders without a NAME section"
done
echo "rendered $pages pages"

# Every function the header exports: a link page that leads to chronon(3),
# named in chronon(3)'s NAME section and described in its body.
name_section=$(sed -n '/^\.SH NAME/,/^\.SH/p' man3/chronon.3)
fns=$(sed -n 's/^CHRONON_API [^(]*[ *]\(chronon_[a-z0-9_]*\)(.*/\1/p' "$src/include/chronon.h")
[ -n "$fns" ] || bad "no CHRONON_API function found in chronon.h"
for fn in $fns; do
	if [ -f "man3/$fn.3" ]; then
		grep -qx '\.so man3/chronon\.3' "man3/$fn.3" || bad "man3/$fn.3 does not lead to chronon.3"
	else
		bad "no man3/$fn.3 link"
	fi
	grep -qw "$fn" <<<"$name_section" || bad "$fn is not in chronon(3)'s NAME section"
	grep -q "^\.BR $fn ()" man3/chronon.3 || bad "$fn is not described in chronon(3)"
done
echo "checked $(wc -w <<<"$fns") public functions"

# Every environment variable the library reads has its entry in
# chronon(3)'s ENVIRONMENT.
env_section=$(sed -n '/^\.SH ENVIRONMENT/,/^\.SH/p' man3/chronon.3)
vars=$(grep -rhoE 'getenv\("[A-Z_]+"' "$src/src" | sed 's/.*("//; s/"$//' | sort -u)
for v in $vars; do
	grep -qx "\.B $v" <<<"$env_section" || bad "$v (read by the library) is not in chronon(3)'s ENVIRONMENT"
done
echo "checked $(wc -w <<<"$vars") environment variables"
[ $fail = 0 ] && echo "ok"
exit $fail
