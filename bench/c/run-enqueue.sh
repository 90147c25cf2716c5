#!/usr/bin/env bash
# Enqueue cost of librtudp from C (bench/c/rtudp_enqueue.c) against a running rtudpd (./run.sh, or the service):
#   bench/c/run-enqueue.sh [--socket GRPC_SOCKET] [COUNT (200000)] [SIZE (64)] [AHEAD_NS (1000000)] [CPU (-1)]
# Creates a sending channel (SCHED_OTHER, unpinned: none of the host's real-time CPUs is taken) to a local UDP sink
# held open here, attaches to it through the broker socket beside GRPC_SOCKET, runs the program, deletes the
# channel. Prints the program's one line: rtudp_enqueue key=value ... (ns).
# librtudp: $RTUDP_LIBRARY_DIR (its lib directory) when set, else scripts/build-librtudp.sh into artifacts/librtudp.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
socket=""
if [[ ${1:-} == --socket ]]; then socket=$2; shift 2; fi
if [[ -z $socket ]]; then
    for s in "${RTUDP_SOCKET:-}" "${XDG_RUNTIME_DIR:+$XDG_RUNTIME_DIR/rtudp/rtudp.sock}" /run/rtudp/rtudp.sock "/tmp/rtudp-$USER/rtudp.sock"; do
        if [[ -n $s && -S $s ]]; then socket=$s; break; fi
    done
fi
[[ -n $socket && -S $socket ]] || { echo "run-enqueue.sh: no rtudpd socket found (start ./run.sh, or pass --socket)" >&2; exit 2; }
broker=$(dirname "$socket")/rtudp-shm.sock

libdir=${RTUDP_LIBRARY_DIR:-}
if [[ -z $libdir ]]; then
    libdir=$("$repo/scripts/build-librtudp.sh" | tail -n 1)/lib
fi
work=$(mktemp -d)
channel=bench-enqueue-$$
sink=""
cleanup() {
    "$ctl" --socket "$socket" channels rm "$channel" >/dev/null 2>&1 || true
    [[ -z $sink ]] || kill "$sink" 2>/dev/null || true
    rm -rf "$work"
}
ctl=$repo/src/RtUdp.Ctl/bin/Release/net10.0/rtudpctl
[[ -x $ctl ]] || dotnet build -c Release "$repo/src/RtUdp.Ctl" >/dev/null
trap cleanup EXIT

PKG_CONFIG_PATH=$libdir/pkgconfig
export PKG_CONFIG_PATH
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$work/rtudp_enqueue" "$repo/bench/c/rtudp_enqueue.c" \
    $(pkg-config --cflags --libs rtudp) -Wl,-rpath,"$libdir"

# A socket that holds the destination port open and never reads (the kernel drops what overflows it): no ICMP
# port-unreachable, so no send errors in the engine. It prints its port, then waits to be killed.
/usr/bin/python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1], flush=True); time.sleep(3600)' > "$work/port" &
sink=$!
for _ in $(seq 100); do [[ -s $work/port ]] && break; sleep 0.05; done
port=$(cat "$work/port")
[[ -n $port ]] || { echo "run-enqueue.sh: the UDP sink did not start" >&2; exit 1; }

"$ctl" --socket "$socket" channels create "$channel" --direction send --remote "127.0.0.1:$port" --priority 0 >/dev/null
"$work/rtudp_enqueue" "$broker" "$channel" "$@"
