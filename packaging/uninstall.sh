#!/usr/bin/env bash
# Removes what packaging/install.sh installed. Usage (root): packaging/uninstall.sh [--purge]
#   --purge: also the configuration (/etc/rtudp), the runtime directory and the user and group rtudp.
set -euo pipefail
purge=no
case ${1:-} in --purge) purge=yes ;; "") ;; *) echo "uninstall.sh: unknown argument $1" >&2; exit 2 ;; esac
(( EUID == 0 )) || { echo "uninstall.sh: run as root" >&2; exit 1; }

# Stop drains: rtudpd closes intake, sends what is due within Engine:DrainWindow and counts the rest.
systemctl disable --now rtudp 2>/dev/null || true
rm -f /etc/systemd/system/rtudp.service /etc/sysusers.d/rtudp.conf /etc/tmpfiles.d/rtudp.conf
[[ -L /usr/bin/rtudpctl ]] && rm -f /usr/bin/rtudpctl
rm -rf /usr/lib/rtudp
systemctl daemon-reload
if [[ $purge == yes ]]; then
    rm -rf /etc/rtudp /run/rtudp
    if getent passwd rtudp >/dev/null; then userdel rtudp; fi
    if getent group rtudp >/dev/null; then groupdel rtudp; fi
fi
echo "uninstall.sh: removed$([[ $purge == yes ]] && echo ", configuration and user purged")"
