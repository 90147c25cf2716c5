#!/usr/bin/env bash
# Publishes librtudp (src/RtUdp.Native, NativeAOT; docs/shm-clients.md) with its header and pkg-config file:
#   OUT/lib/librtudp.so.1           the library (soname librtudp.so.1)
#   OUT/lib/librtudp.so             -> librtudp.so.1 (what -lrtudp links)
#   OUT/include/rtudp.h
#   OUT/lib/pkgconfig/rtudp.pc      prefix OUT unless --prefix/--libdir/--includedir say where it will be installed
# Usage: scripts/build-librtudp.sh [--rid linux-x64|linux-arm64] [--out DIR (artifacts/librtudp)]
#        [--prefix P] [--libdir L] [--includedir I] [--version V] [--library FILE]
# --library FILE: lay out an already published librtudp (e.g. another OUT's lib/librtudp.so.1) instead of publishing
# (the Debian packages reuse the library test.sh published: one NativeAOT publish per CI run).
# NativeAOT links on the target's architecture only (clang or gcc, zlib1g-dev: scripts/install-test-deps.sh).
# Prints OUT on its last line. test.sh runs it once and passes OUT/lib to the tests as RTUDP_LIBRARY_DIR.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
rid=linux-x64 out=$repo/artifacts/librtudp prefix="" libdir="" includedir="" version=${RTUDP_VERSION:-0.1.0} library=""
while (( $# > 0 )); do
    case $1 in
        --rid) rid=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --prefix) prefix=$2; shift 2 ;;
        --libdir) libdir=$2; shift 2 ;;
        --includedir) includedir=$2; shift 2 ;;
        --version) version=$2; shift 2 ;;
        --library) library=$(realpath "$2"); shift 2 ;;
        *) echo "build-librtudp.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
case $rid in linux-x64) arch=x86_64 ;; linux-arm64) arch=aarch64 ;; *) echo "build-librtudp.sh: unsupported RID $rid" >&2; exit 2 ;; esac
[[ $(uname -m) == "$arch" ]] || { echo "build-librtudp.sh: NativeAOT links for $rid on a $arch host only (this is $(uname -m))" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
prefix=${prefix:-$out} libdir=${libdir:-\${prefix\}/lib} includedir=${includedir:-\${prefix\}/include}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ -n $library ]]; then
    [[ -f $library ]] || { echo "build-librtudp.sh: --library $library: no such file" >&2; exit 2; }
    mkdir -p "$work/publish"
    cp "$library" "$work/publish/librtudp.so"
else
    if ! dotnet publish "$repo/src/RtUdp.Native" -c Release -r "$rid" -o "$work/publish" >"$work/publish.log" 2>&1; then
        cat "$work/publish.log" >&2
        echo "build-librtudp.sh: dotnet publish src/RtUdp.Native failed" >&2
        exit 1
    fi
    # Trimming/AOT analysis warnings would mean code that can break at run time: refuse them (as packaging/publish.sh).
    if grep -E "warning (IL|NETSDK)[0-9]+" "$work/publish.log" >&2; then
        echo "build-librtudp.sh: src/RtUdp.Native published with warnings" >&2
        exit 1
    fi
fi

abi=$(sed -n 's/^#define RTUDP_ABI_VERSION \([0-9]*\)$/\1/p' "$repo/src/RtUdp.Native/include/rtudp.h")
soname=$(readelf -d "$work/publish/librtudp.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ $soname == "librtudp.so.$abi" ]] || { echo "build-librtudp.sh: soname '$soname', expected librtudp.so.$abi (RTUDP_ABI_VERSION)" >&2; exit 1; }

rm -rf "$out/lib" "$out/include"
install -d "$out/lib/pkgconfig" "$out/include"
install -m 0644 "$work/publish/librtudp.so" "$out/lib/$soname"
ln -s "$soname" "$out/lib/librtudp.so"
install -m 0644 "$repo/src/RtUdp.Native/include/rtudp.h" "$out/include/rtudp.h"
sed -e "s|@PREFIX@|$prefix|" -e "s|@LIBDIR@|$libdir|" -e "s|@INCLUDEDIR@|$includedir|" \
    -e "s|@VERSION@|$version|" -e "s|@ABI@|$abi|" "$repo/src/RtUdp.Native/rtudp.pc.in" > "$out/lib/pkgconfig/rtudp.pc"
chmod 0644 "$out/lib/pkgconfig/rtudp.pc"
echo "build-librtudp.sh: $rid -> $out" >&2
echo "$out"
