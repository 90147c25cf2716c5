#!/usr/bin/env bash
# Builds librtudp's Debian packages, the Debian split for a shared library:
#   librtudp1      /usr/lib/<multiarch>/librtudp.so.1 (the soname: the ABI's major version), shlibs, ldconfig trigger
#   librtudp-dev   /usr/lib/<multiarch>/librtudp.so (-> librtudp.so.1), /usr/include/rtudp.h,
#                  /usr/lib/<multiarch>/pkgconfig/rtudp.pc
#   packaging/deb/build-librtudp.sh [--rid linux-x64|linux-arm64] [--out DIR] [--version V] [--no-lintian]
#       [--library FILE (a published librtudp.so.1 to package instead of publishing one)]
# Prints the paths of the two .debs on its last two lines. Needs dpkg-deb and what NativeAOT links with (clang,
# binutils; on the target's architecture: scripts/build-librtudp.sh); runs lintian when it is installed.
#
# Packages of their own, not files in rtudp: a client program needs the library, not the daemon and its .NET
# runtime (it talks to an rtudpd on the same host, which may have been installed otherwise), and Debian wants a
# public shared library in a package named after its soname, the link and the header in a -dev package.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
here=$repo/packaging/deb
rid=linux-x64 out=$repo/artifacts/deb version=${RTUDP_VERSION:-0.1.0} lint=yes library=()
while (( $# > 0 )); do
    case $1 in
        --rid) rid=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --version) version=$2; shift 2 ;;
        --no-lintian) lint=no; shift ;;
        --library) library=(--library "$2"); shift 2 ;;
        *) echo "build-librtudp.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
case $rid in linux-x64) arch=amd64 multiarch=x86_64-linux-gnu ;; linux-arm64) arch=arm64 multiarch=aarch64-linux-gnu ;;
    *) echo "build-librtudp.sh: unsupported RID $rid" >&2; exit 2 ;; esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
libdir=/usr/lib/$multiarch
"$repo/scripts/build-librtudp.sh" --rid "$rid" --out "$work/built" --version "$version" "${library[@]}" \
    --prefix /usr --libdir "\${prefix}/lib/$multiarch" --includedir "\${prefix}/include" >/dev/null
soname=$(readelf -d "$work/built/lib/librtudp.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
major=${soname##*.so.}
lib_package=librtudp$major
date=$(git -C "$repo" log -1 --format=%cD 2>/dev/null || date -R)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)

# The documentation directory every package needs: copyright and a Debian changelog.
docs() { # ROOT PACKAGE
    local doc=$1/usr/share/doc/$2
    install -d -m 0755 "$doc"
    install -m 0644 "$here/librtudp/copyright" "$doc/copyright"
    printf '%s (%s) unstable; urgency=medium\n\n  * Release build of %s.\n\n -- RtUdp maintainers <rtudp-maintainers@example.org>  %s\n' \
        "$2" "$version" "$commit" "$date" | gzip -9n > "$doc/changelog.gz"
    chmod 0644 "$doc/changelog.gz"
}

# Control fields, md5sums and the .deb; prints its path.
package() { # ROOT PACKAGE
    local root=$1 name=$2 deb
    (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
    chmod 0644 "$root/DEBIAN/"*
    find "$root" -type d -exec chmod 0755 {} +
    mkdir -p "$out"
    deb=$out/${name}_${version}_${arch}.deb
    dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
    if [[ $lint == yes ]] && command -v lintian >/dev/null; then
        lintian --fail-on error --tag-display-limit 0 "$deb" >&2
    fi
    echo "$deb"
}

lib=$work/lib
install -d -m 0755 "$lib$libdir" "$lib/DEBIAN"
install -m 0644 "$work/built/lib/$soname" "$lib$libdir/$soname"
docs "$lib" "$lib_package"
# Programs linked with -lrtudp depend on this package, at least this version (dpkg-shlibdeps reads it).
echo "librtudp $major $lib_package (>= $version)" > "$lib/DEBIAN/shlibs"
# The same per symbol (every export, with the version node NativeAOT's linker script gives it): all since this version.
{
    echo "$soname $lib_package #MINVER#"
    echo "* Build-Depends-Package: librtudp-dev"
    nm -D --defined-only "$lib$libdir/$soname" | awk -v v="$version" '$2 == "T" && $3 ~ /^rtudp_/ { sub(/@@/, "@", $3); print " " $3 " " v }' | LC_ALL=C sort
} > "$lib/DEBIAN/symbols"
[[ $(grep -c '^ rtudp_' "$lib/DEBIAN/symbols") -gt 0 ]] || { echo "build-librtudp.sh: $soname exports no rtudp_ symbol" >&2; exit 1; }
echo "activate-noawait ldconfig" > "$lib/DEBIAN/triggers"
cat > "$lib/DEBIAN/control" <<CONTROL
Package: $lib_package
Source: rtudp
Version: $version
Architecture: $arch
Multi-Arch: same
Maintainer: RtUdp maintainers <rtudp-maintainers@example.org>
Installed-Size: $(du -sk --exclude=DEBIAN "$lib" | cut -f1)
Depends: libc6 (>= 2.27)
Suggests: rtudp
Section: libs
Priority: optional
Homepage: https://localhost/rtudp
Description: same-host clients of rtudpd over shared memory (library)
 librtudp attaches a program to a channel of rtudpd, the real-time UDP
 transmission service, on the same host: it gets a shared-memory ring of its
 own, and sending a packet scheduled for a CLOCK_MONOTONIC time is a copy into
 that ring, well under a microsecond, with no system call. It also receives
 with the kernel's timestamps and reads the attachment's counters.
CONTROL
lib_deb=$(package "$lib" "$lib_package")

dev=$work/dev
install -d -m 0755 "$dev$libdir/pkgconfig" "$dev/usr/include" "$dev/DEBIAN"
ln -s "$soname" "$dev$libdir/librtudp.so"
install -m 0644 "$work/built/include/rtudp.h" "$dev/usr/include/rtudp.h"
install -m 0644 "$work/built/lib/pkgconfig/rtudp.pc" "$dev$libdir/pkgconfig/rtudp.pc"
docs "$dev" librtudp-dev
cat > "$dev/DEBIAN/control" <<CONTROL
Package: librtudp-dev
Source: rtudp
Version: $version
Architecture: $arch
Multi-Arch: same
Maintainer: RtUdp maintainers <rtudp-maintainers@example.org>
Installed-Size: $(du -sk --exclude=DEBIAN "$dev" | cut -f1)
Depends: $lib_package (= $version)
Section: libdevel
Priority: optional
Homepage: https://localhost/rtudp
Description: same-host clients of rtudpd over shared memory (development files)
 librtudp attaches a program to a channel of rtudpd, the real-time UDP
 transmission service, on the same host, through a shared-memory ring of its
 own. This package holds the C header rtudp.h, the link librtudp.so and the
 pkg-config file: cc app.c \$(pkg-config --cflags --libs rtudp).
CONTROL
dev_deb=$(package "$dev" librtudp-dev)
echo "$lib_deb"
echo "$dev_deb"
