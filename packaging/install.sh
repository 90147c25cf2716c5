#!/usr/bin/env bash
# Installs RtUdp on a systemd distribution without dpkg, in the Debian package's layout:
#   /usr/lib/rtudp/ (rtudpd, rtudp-engine, rtudpctl), /usr/bin/rtudpctl, the same unit, sysusers and
#   tmpfiles files (under /etc/systemd/system, /etc/sysusers.d, /etc/tmpfiles.d: a local install),
#   /etc/rtudp/rtudp.json (kept if present), file capabilities on the engine; then enables and starts
#   rtudp.service. Usage (root): packaging/install.sh [--published DIR] [--no-start]
#   --published DIR: programs from packaging/publish.sh (default: publish now for this machine)
# Needs: systemd (systemd-sysusers, systemd-tmpfiles), setcap (libcap), and the .NET SDK without --published.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
published="" start=yes
while (( $# > 0 )); do
    case $1 in
        --published) published=$2; shift 2 ;;
        --no-start) start=no; shift ;;
        *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
(( EUID == 0 )) || { echo "install.sh: run as root" >&2; exit 1; }
for tool in systemctl systemd-sysusers systemd-tmpfiles setcap; do
    command -v "$tool" >/dev/null || { echo "install.sh: $tool is missing (install systemd / libcap)" >&2; exit 1; }
done
if [[ -z $published ]]; then
    case $(uname -m) in x86_64) rid=linux-x64 ;; aarch64) rid=linux-arm64 ;; *) echo "install.sh: unsupported machine $(uname -m)" >&2; exit 1 ;; esac
    published=$(mktemp -d)
    trap 'rm -rf "$published"' EXIT
    "$repo/packaging/publish.sh" "$rid" "$published"
fi
[[ -x $published/rtudpd && -x $published/rtudp-engine ]] || { echo "install.sh: $published has no rtudpd/rtudp-engine" >&2; exit 1; }

# An upgrade replaces the programs while the service is stopped.
was_active=no
if systemctl is-active --quiet rtudp 2>/dev/null; then was_active=yes; systemctl stop rtudp; fi
rm -rf /usr/lib/rtudp
install -d -m 0755 /usr/lib/rtudp
cp -a "$published/." /usr/lib/rtudp/
rm -f /usr/lib/rtudp/libcoreclrtraceptprovider.so
chown -R root:root /usr/lib/rtudp
if [[ -x /usr/lib/rtudp/rtudpctl ]]; then
    ln -sfn ../lib/rtudp/rtudpctl /usr/bin/rtudpctl
fi

install -m 0644 "$repo/deploy/systemd/rtudp.service" /etc/systemd/system/rtudp.service
install -D -m 0644 "$repo/deploy/systemd/rtudp.sysusers" /etc/sysusers.d/rtudp.conf
install -D -m 0644 "$repo/deploy/systemd/rtudp.tmpfiles" /etc/tmpfiles.d/rtudp.conf
systemd-sysusers rtudp.conf
systemd-tmpfiles --create rtudp.conf
if [[ ! -e /etc/rtudp/rtudp.json ]]; then
    install -m 0640 -o root -g rtudp "$repo/packaging/rtudp.json" /etc/rtudp/rtudp.json
fi
# The engine's privileges (SCHED_FIFO, mlock, NIC timestamping) as file capabilities: rtudpd needs none.
setcap cap_sys_nice,cap_ipc_lock,cap_net_admin=ep /usr/lib/rtudp/rtudp-engine

systemctl daemon-reload
if [[ $start == yes || $was_active == yes ]]; then
    systemctl enable --now rtudp
else
    systemctl enable rtudp
fi
echo "install.sh: installed; $(systemctl is-active rtudp 2>/dev/null || true) (configuration: /etc/rtudp/rtudp.json)"
