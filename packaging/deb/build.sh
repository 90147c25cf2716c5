#!/usr/bin/env bash
# Builds the Debian package: packaging/deb/build.sh [--rid linux-x64|linux-arm64] [--out DIR]
#   [--published DIR (reuse a packaging/publish.sh output)] [--version V] [--no-lintian]
# Prints the path of the .deb on its last line. Needs dpkg-deb; runs lintian when it is installed.
#   /usr/lib/rtudp/        rtudpd, rtudp-engine, rtudpctl and the bundled .NET runtime; rtudp_xdp.bpf.o, the
#                          xdp steering program the engine loads with libxdp1/libbpf1 (Depends)
#   /usr/bin/rtudpctl      symlink (when src/RtUdp.Ctl exists)
#   /lib/systemd/system/rtudp.service, /usr/lib/sysusers.d/rtudp.conf, /usr/lib/tmpfiles.d/rtudp.conf
#   /etc/rtudp/rtudp.json  conffile (packaging/rtudp.json: no channels until you configure some)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
here=$repo/packaging/deb
rid=linux-x64 out=$repo/artifacts/deb published="" version=${RTUDP_VERSION:-0.1.0} lint=yes
while (( $# > 0 )); do
    case $1 in
        --rid) rid=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --published) published=$2; shift 2 ;;
        --version) version=$2; shift 2 ;;
        --no-lintian) lint=no; shift ;;
        *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
case $rid in linux-x64) arch=amd64 ;; linux-arm64) arch=arm64 ;; *) echo "build.sh: unsupported RID $rid" >&2; exit 2 ;; esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ -z $published ]]; then
    published=$work/published
    "$repo/packaging/publish.sh" "$rid" "$published"
fi

root=$work/root
install -d -m 0755 "$root/usr/lib/rtudp" "$root/usr/bin" "$root/lib/systemd/system" "$root/usr/lib/sysusers.d" \
    "$root/usr/lib/tmpfiles.d" "$root/etc/rtudp" "$root/usr/share/doc/rtudp" "$root/usr/share/lintian/overrides" "$root/DEBIAN"
cp -a "$published/." "$root/usr/lib/rtudp/"
# The runtime's LTTng tracing provider links liblttng-ust, which nothing here needs; coreclr runs without it.
rm -f "$root/usr/lib/rtudp/libcoreclrtraceptprovider.so"
if [[ -x $root/usr/lib/rtudp/rtudpctl ]]; then
    ln -s ../lib/rtudp/rtudpctl "$root/usr/bin/rtudpctl"
else
    echo "build.sh: WARNING: no rtudpctl in the published programs (src/RtUdp.Ctl missing): the package has no /usr/bin/rtudpctl" >&2
    rmdir "$root/usr/bin"
fi
install -m 0644 "$repo/deploy/systemd/rtudp.service" "$root/lib/systemd/system/rtudp.service"
install -m 0644 "$repo/deploy/systemd/rtudp.sysusers" "$root/usr/lib/sysusers.d/rtudp.conf"
install -m 0644 "$repo/deploy/systemd/rtudp.tmpfiles" "$root/usr/lib/tmpfiles.d/rtudp.conf"
install -m 0644 "$repo/packaging/rtudp.json" "$root/etc/rtudp/rtudp.json"
# README.md stays uncompressed: the unit's Documentation= points at it.
install -m 0644 "$repo/README.md" "$root/usr/share/doc/rtudp/README.md"
install -d -m 0755 "$root/usr/share/doc/rtudp/examples"
install -m 0644 "$repo/deploy/rtudp.json" "$root/usr/share/doc/rtudp/examples/rtudp.json"
# The xdp channels' opt-in drop-in (docs/xdp.md, "Privileges"): an example, not active until copied to
# /etc/systemd/system/rtudp.service.d/.
install -m 0644 "$repo/deploy/systemd/rtudp-xdp.conf" "$root/usr/share/doc/rtudp/examples/rtudp-xdp.conf"
install -m 0644 "$here/debian/copyright" "$root/usr/share/doc/rtudp/copyright"
install -m 0644 "$here/debian/lintian-overrides" "$root/usr/share/lintian/overrides/rtudp"
date=$(git -C "$repo" log -1 --format=%cD 2>/dev/null || date -R)
printf 'rtudp (%s) unstable; urgency=medium\n\n  * Release build of %s.\n\n -- RtUdp maintainers <rtudp-maintainers@example.org>  %s\n' \
    "$version" "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)" "$date" | gzip -9n > "$root/usr/share/doc/rtudp/changelog.gz"
chmod 0644 "$root/usr/share/doc/rtudp/changelog.gz"

install -m 0755 "$here/debian/postinst" "$here/debian/prerm" "$here/debian/postrm" "$root/DEBIAN/"
echo /etc/rtudp/rtudp.json > "$root/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: rtudp
Version: $version
Architecture: $arch
Maintainer: RtUdp maintainers <rtudp-maintainers@example.org>
Installed-Size: $size
Depends: libc6 (>= 2.27), libgcc-s1, libstdc++6, zlib1g, libssl3 | libssl1.1, libcap2-bin, systemd, libxdp1 (>= 1.3), libbpf1
Section: net
Priority: optional
Homepage: https://localhost/rtudp
Description: real-time UDP transmission service
 rtudpd is a gRPC daemon that sends UDP datagrams at scheduled times and
 receives them with kernel timestamps. Its data plane, rtudp-engine, runs
 pinned SCHED_FIFO threads that allocate nothing after start-up; rtudpd
 supervises it and talks to it through shared memory. Runs as the systemd
 service rtudp.service (Type=notify, watchdog) under its own user.
CONTROL
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

mkdir -p "$out"
deb=$out/rtudp_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
if [[ $lint == yes ]] && command -v lintian >/dev/null; then
    # Errors fail the build; warnings are shown.
    lintian --fail-on error --tag-display-limit 0 "$deb" >&2
fi
echo "$deb"
