#!/usr/bin/env bash
# Builds and runs the daemon with its embedded defaults (gRPC on a unix socket under $XDG_RUNTIME_DIR or /tmp, and 127.0.0.1:50051).
set -euo pipefail
cd "$(dirname "$0")"
exec dotnet run -c Release --project src/RtUdp.Daemon -- "$@"
