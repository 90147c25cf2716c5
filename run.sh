#!/usr/bin/env bash
# Builds and runs the daemon with its embedded defaults (loopback only; files under $XDG_RUNTIME_DIR or /dev/shm).
set -euo pipefail
cd "$(dirname "$0")"
exec dotnet run -c Release --project src/RtUdp.Daemon -- "$@"
