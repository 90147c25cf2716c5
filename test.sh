#!/usr/bin/env bash
# Runs every test. Some need root (SCHED_FIFO, network namespaces): they say so and CI runs as root.
set -euo pipefail
cd "$(dirname "$0")"
exec dotnet test RtUdp.sln -c Release --logger "console;verbosity=normal" "$@"
