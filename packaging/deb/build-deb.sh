#!/bin/bash
# make deb: Debian packages of chronon, built with the distribution's flags
# and dpkg's own tools (dpkg-shlibdeps, dpkg-gensymbols, dpkg-deb), no
# debhelper needed:
#   libchronon0     the shared library (libchronon.so.0), named by its soname
#   libchronon-dev  headers, libchronon.so and .a, chronon.pc, the CMake
#                   package, chronon(3)
#   chronon         the chronon command, chronond and its systemd unit,
#                   libchronon-preload.so (in a private directory)
# Output: $DEB_OUT (default build-deb/) holds <package>_<version>_<arch>.deb.
# The LTTng plugin is not packaged (it would make the tools depend on
# lttng-ust), nor is Abseil linked into the chronon command.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
here=$src/packaging/deb
out=$(realpath -m "${DEB_OUT:-$src/build-deb}")
jobs=${JOBS:-2}

version=$(sed -n 's/^project(chronon VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$version" ] || { echo "build-deb: no version in CMakeLists.txt" >&2; exit 1; }
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
libdir=usr/lib/$multiarch
maint=${DEB_MAINTAINER:-}
if [ -z "$maint" ]; then
	name=$(git config user.name 2>/dev/null || true) mail=$(git config user.email 2>/dev/null || true)
	maint="${name:-chronon maintainers} <${mail:-chronon@localhost}>"
fi
# Reproducible: every date is the last commit's.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

build=$out/build stage=$out/stage pkgs=$out/pkgs meta=$out/meta
rm -rf "$stage" "$pkgs" "$meta" "$out"/*.deb
mkdir -p "$out" "$pkgs" "$meta/debian"

# ---- build and install into a staging root, with Debian's flags ----
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cflags="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
cxxflags="$(dpkg-buildflags --get CXXFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=None -DCMAKE_INSTALL_PREFIX=/usr \
	-DCMAKE_INSTALL_LIBDIR="lib/$multiarch" -DCMAKE_INSTALL_SYSCONFDIR=/etc \
	-DCMAKE_C_FLAGS="$cflags" -DCMAKE_CXX_FLAGS="$cxxflags" \
	-DCMAKE_EXE_LINKER_FLAGS="$ldflags" -DCMAKE_SHARED_LINKER_FLAGS="$ldflags" \
	-DCMAKE_MODULE_LINKER_FLAGS="$ldflags" \
	-DCHRONON_LTTNG=OFF -DCMAKE_DISABLE_FIND_PACKAGE_absl=ON \
	-DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON >"$out/configure.log"
cmake --build "$build" -j "$jobs" --target chronon_static chronon_shared chronon chronond chronon_preload
DESTDIR=$stage cmake --install "$build" >"$out/install.log"

# ---- Debian's layout ----
# Units stay in /lib on Debian 12 (files must not move between /lib and
# /usr/lib before the /usr merge is finished).
mkdir -p "$stage/lib/systemd"
mv "$stage/usr/lib/systemd/system" "$stage/lib/systemd/system"
rmdir "$stage/usr/lib/systemd"
# The preload shim is loaded by path, never linked: a private directory.
mkdir -p "$stage/$libdir/chronon"
mv "$stage/$libdir/libchronon-preload.so" "$stage/$libdir/chronon/"
# Man pages compressed; the one-line .so pages become symlinks, as
# dh_installman makes them.
find "$stage/usr/share/man" -type f | while read -r page; do
	if target=$(sed -n '1s/^\.so man[0-9]\/\(.*\)$/\1/p' "$page") && [ -n "$target" ] &&
		[ "$(wc -l <"$page")" = 1 ]; then
		rm "$page"
		ln -s "$target.gz" "$page.gz"
	else
		gzip -9n "$page"
	fi
done
# Stripped as dh_strip does (no -dbgsym package is made).
find "$stage" -type f \( -name '*.so' -o -name '*.so.*' -o -path '*/bin/*' -o -path '*/sbin/*' \) \
	-exec strip --remove-section=.comment --remove-section=.note --strip-unneeded {} +
find "$stage" -type f -name '*.a' -exec strip --strip-debug --remove-section=.comment \
	--remove-section=.note --enable-deterministic-archives {} +

# ---- split ----
take() { # take PACKAGE PATH...: move staged files into PACKAGE's tree
	local pkg=$1 p
	shift
	for p in "$@"; do
		[ -e "$stage/$p" ] || [ -L "$stage/$p" ] || { echo "build-deb: $p was not installed" >&2; exit 1; }
		mkdir -p "$(dirname "$pkgs/$pkg/$p")"
		mv "$stage/$p" "$pkgs/$pkg/$p"
	done
}
take libchronon0 "$libdir/libchronon.so.0" "$libdir/libchronon.so.$version"
take libchronon-dev usr/include/chronon.h usr/include/chronon.hpp \
	"$libdir/libchronon.so" "$libdir/libchronon.a" "$libdir/pkgconfig" "$libdir/cmake" \
	usr/share/man/man3
take chronon usr/bin/chronon usr/sbin/chronond lib/systemd/system/chronond.service \
	"$libdir/chronon" usr/share/man/man1 usr/share/man/man8
left=$(find "$stage" -not -type d)
[ -z "$left" ] || { echo "build-deb: installed but in no package:"$'\n'"$left" >&2; exit 1; }

# ---- what dpkg's tools need to see: a changelog and a control file ----
date_r=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
cat >"$meta/debian/changelog" <<EOF
chronon ($version) unstable; urgency=medium

  * Package built from the chronon source tree by make deb.

 -- $maint  $date_r
EOF
cat >"$meta/debian/control" <<EOF
Source: chronon
Maintainer: $maint
Section: libs
Priority: optional

Package: libchronon0
Architecture: any

Package: libchronon-dev
Architecture: any

Package: chronon
Architecture: any
EOF

long_common=" chronon gives programs the kernel's clocks (clock_gettime and friends)
 straight from the CPU's counter, with no system call: the same clocks,
 never going backwards, within a measured error of the kernel's."

control() { # control PACKAGE SECTION MULTIARCH DEPENDS SYNOPSIS LONG
	local pkg=$1 size
	size=$(du -sk --apparent-size --exclude=DEBIAN "$pkgs/$pkg" | cut -f1)
	mkdir -p "$pkgs/$pkg/DEBIAN"
	{
		echo "Package: $pkg"
		echo "Source: chronon"
		echo "Version: $version"
		echo "Architecture: $arch"
		echo "Maintainer: $maint"
		echo "Installed-Size: $size"
		[ -z "$4" ] || echo "Depends: $4"
		echo "Section: $2"
		echo "Priority: optional"
		echo "Multi-Arch: $3"
		echo "Description: $5"
		echo "$long_common"
		echo " ."
		echo "$6"
	} >"$pkgs/$pkg/DEBIAN/control"
}
shlibdeps() { # shlibdeps FILE...: the Depends dpkg-shlibdeps finds
	(cd "$meta" && dpkg-shlibdeps -O -l"$pkgs/libchronon0/$libdir" "${@/#/-e}" 2>/dev/null) |
		sed -n 's/^shlibs:Depends=//p'
}
docs() { # docs PACKAGE: copyright and changelog
	local d=$pkgs/$1/usr/share/doc/$1
	mkdir -p "$d"
	cp "$here/copyright" "$d/copyright"
	gzip -9nc "$meta/debian/changelog" >"$d/changelog.gz"
}
for p in libchronon0 libchronon-dev chronon; do docs $p; done

# libchronon0: the soname's package, with its symbols and shlibs files
# and the ldconfig trigger.
(cd "$meta" && dpkg-gensymbols -q -plibchronon0 -v"$version" -P"$pkgs/libchronon0" \
	-e"$pkgs/libchronon0/$libdir/libchronon.so.$version")
# Tells dpkg-shlibdeps which -dev package a program was built against.
sed -i '1a * Build-Depends-Package: libchronon-dev' "$pkgs/libchronon0/DEBIAN/symbols"
echo "libchronon 0 libchronon0 (>= $version)" >"$pkgs/libchronon0/DEBIAN/shlibs"
echo "activate-noawait ldconfig" >"$pkgs/libchronon0/DEBIAN/triggers"
control libchronon0 libs same "$(shlibdeps "$pkgs/libchronon0/$libdir/libchronon.so.$version")" \
	"kernel clocks from the CPU counter (shared library)" \
	" This package has the shared library, libchronon.so.0."
control libchronon-dev libdevel same "libchronon0 (= $version)" \
	"kernel clocks from the CPU counter (development files)" \
	" This package has the C header chronon.h and the C++ header chronon.hpp
 (std::chrono clocks), the static library, chronon.pc for pkg-config, the
 CMake package (find_package(chronon): chronon::chronon and
 chronon::chronon_static) and the chronon(3) manual page."
control chronon utils foreign \
	"$(shlibdeps "$pkgs/chronon/usr/bin/chronon" "$pkgs/chronon/usr/sbin/chronond" \
		"$pkgs/chronon/$libdir/chronon/libchronon-preload.so")" \
	"kernel clocks from the CPU counter (tools and daemon)" \
	" This package has the chronon command (status, bench, check, bound, vdso),
 chronond, which publishes one time page for every process, with its
 systemd unit (installed, not enabled), and libchronon-preload.so, which
 answers an unmodified program's clock_gettime through LD_PRELOAD."
for s in postinst prerm postrm; do
	install -m 0755 "$here/chronon.$s" "$pkgs/chronon/DEBIAN/$s"
done

# ---- build the .debs ----
for p in libchronon0 libchronon-dev chronon; do
	(cd "$pkgs/$p" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
		xargs -0r md5sum >DEBIAN/md5sums)
	find "$pkgs/$p" -type d -exec chmod 0755 {} +
	find "$pkgs/$p" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	dpkg-deb --root-owner-group -Zxz --build "$pkgs/$p" "$out/${p}_${version}_${arch}.deb" >/dev/null
	echo "built $out/${p}_${version}_${arch}.deb"
done
