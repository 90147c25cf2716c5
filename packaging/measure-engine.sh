#!/usr/bin/env bash
# Compares engine builds: start time (exec to state Running in engine.ctl), resident memory, and the
# engine's own GC counters and allocated bytes (engine.ctl offsets 128-159), right after start and
# again after an idle interval. Usage: packaging/measure-engine.sh [RUNS] NAME=PATH/TO/rtudp-engine ...
# Run as root (the engine locks its memory and that is the footprint that matters in production).
set -euo pipefail
runs=5
if [[ ${1:-} =~ ^[0-9]+$ ]]; then runs=$1; shift; fi
(( $# > 0 )) || { echo "usage: $0 [RUNS] NAME=ENGINE ..." >&2; exit 2; }

i64() { od -An -t d8 -j "$2" -N 8 "$1" 2>/dev/null | tr -d ' '; }
i32() { od -An -t d4 -j "$2" -N 4 "$1" 2>/dev/null | tr -d ' '; }
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

printf '%-10s %14s %12s %20s %22s %20s\n' build "start ms (med)" "VmRSS MiB" "GC gen0/1/2 at start" "allocated B start/+2s" "VmHWM MiB"
for spec in "$@"; do
    name=${spec%%=*} engine=${spec#*=}
    starts=() rss=() hwm=() gcs="" alloc=""
    for ((r = 0; r < runs; r++)); do
        dir=$(mktemp -d /dev/shm/rtudp-measure.XXXXXX)
        t0=$(date +%s%N)
        "$engine" --dir "$dir" 2>"$dir.log" &
        pid=$!
        until [[ -f $dir/engine.ctl && $(i32 "$dir/engine.ctl" 12) == 2 ]]; do
            kill -0 "$pid" 2>/dev/null || { cat "$dir.log" >&2; exit 1; }
            (( $(date +%s%N) - t0 < 30000000000 )) || { echo "$name: no Running state in 30 s" >&2; exit 1; }
        done
        t1=$(date +%s%N)
        starts+=($(( (t1 - t0) / 1000 )))
        ctl=$dir/engine.ctl
        a0=$(i64 "$ctl" 152)
        gcs="$(i64 "$ctl" 128)/$(i64 "$ctl" 136)/$(i64 "$ctl" 144)"
        sleep 2
        a1=$(i64 "$ctl" 152)
        alloc="$a0/+$((a1 - a0))"
        rss+=($(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status"))
        hwm+=($(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status"))
        kill -TERM "$pid"; wait "$pid" || true
        rm -rf "$dir" "$dir.log"
    done
    printf '%-10s %14.1f %12.1f %20s %22s %20.1f\n' "$name" \
        "$(printf '%s\n' "${starts[@]}" | median | awk '{ print $1 / 1000 }')" \
        "$(printf '%s\n' "${rss[@]}" | median | awk '{ print $1 / 1024 }')" "$gcs" "$alloc" \
        "$(printf '%s\n' "${hwm[@]}" | median | awk '{ print $1 / 1024 }')"
done
