#!/bin/bash
# Installs the build into a temporary prefix and builds a user's project
# against it, the way the README says, then runs what it built.
#   check_consumer.sh find_package|pkg-config BUILD_DIR CONSUMER_DIR CC CXX FLAGS CMAKE
# CXX may be empty (no C++ compiler: the C++ consumer is left out); FLAGS
# are the sanitizer flags of a sanitized build.  Exit 0 pass, 1 fail,
# 77 skip.
set -euo pipefail
how=$1 build=$2 consumer=$3 cc=$4 cxx=$5 flags=$6 cmake=$7
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
"$cmake" --install "$build" --prefix "$prefix" >/dev/null
# chronon.pc and the package config must not depend on where the prefix
# was when it was installed: use a moved copy.
mv "$prefix" "$tmp/moved"
prefix=$tmp/moved
out=$tmp/out
mkdir -p "$out"

case $how in
find_package)
	"$cmake" -S "$consumer" -B "$out" -DCMAKE_PREFIX_PATH="$prefix" \
		-DCMAKE_C_COMPILER="$cc" ${cxx:+-DCMAKE_CXX_COMPILER="$cxx"} \
		-DCONSUMER_CXX=$([ -n "$cxx" ] && echo ON || echo OFF) \
		-DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
		-DCMAKE_EXE_LINKER_FLAGS="$flags" >"$tmp/configure.log" 2>&1 ||
		{ cat "$tmp/configure.log"; echo "FAIL: the consumer project does not configure"; exit 1; }
	grep -q "chronon_DIR:PATH=$prefix/" "$out/CMakeCache.txt" ||
		{ grep chronon_DIR "$out/CMakeCache.txt"; echo "FAIL: found a chronon outside $prefix"; exit 1; }
	"$cmake" --build "$out" >"$tmp/build.log" 2>&1 ||
		{ cat "$tmp/build.log"; echo "FAIL: the consumer project does not build"; exit 1; }
	;;
pkg-config)
	if ! command -v pkg-config >/dev/null; then
		echo "SKIP: pkg-config is not installed"
		exit 77
	fi
	pcdir=$(dirname "$(find "$prefix" -name chronon.pc)")
	export PKG_CONFIG_PATH=$pcdir
	libdir=$(pkg-config --variable=libdir chronon)
	[ -f "$libdir/libchronon.so" ] || { echo "FAIL: chronon.pc's libdir $libdir has no libchronon.so"; exit 1; }
	# README: cc prog.c $(pkg-config --cflags --libs chronon)
	# shellcheck disable=SC2046,SC2086
	"$cc" $flags -o "$out/consumer_shared" "$consumer/consumer.c" \
		$(pkg-config --cflags --libs chronon) -Wl,-rpath,"$libdir"
	# The static library: the same flags, libchronon.a named outright.
	# shellcheck disable=SC2046,SC2086
	"$cc" $flags -DCONSUMER_STATIC -o "$out/consumer_static" "$consumer/consumer.c" \
		$(pkg-config --cflags chronon) \
		$(pkg-config --static --libs chronon | sed 's/-lchronon\b/-l:libchronon.a/')
	if [ -n "$cxx" ]; then
		# shellcheck disable=SC2046,SC2086
		"$cxx" $flags -std=c++17 -o "$out/consumer_cxx" "$consumer/consumer.cpp" \
			$(pkg-config --cflags --libs chronon) -Wl,-rpath,"$libdir"
	fi
	;;
*)
	echo "usage: check_consumer.sh find_package|pkg-config ..."
	exit 2
	;;
esac

"$out/consumer_shared" "$prefix"
"$out/consumer_static" "$prefix"
if [ -n "$cxx" ]; then
	"$out/consumer_cxx"
fi
echo "ok: $how"
