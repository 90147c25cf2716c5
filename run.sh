#!/usr/bin/env bash
# Builds and runs the daemon with its embedded defaults (gRPC on a unix socket under $XDG_RUNTIME_DIR or /tmp, and 127.0.0.1:50051).
# Relative paths are the caller's: --config is made absolute here, and rtudpd runs in the caller's directory
# (dotnet run would otherwise start it in src/RtUdp.Daemon).
set -euo pipefail
caller="$PWD"
args=()
while (($#)); do
  case "$1" in
    --config)
      [[ $# -ge 2 ]] || { echo "run.sh: --config needs a path" >&2; exit 2; }
      args+=(--config "$(realpath -m -- "$2")"); shift 2 ;;
    --config=*)
      args+=("--config=$(realpath -m -- "${1#--config=}")"); shift ;;
    *)
      args+=("$1"); shift ;;
  esac
done
cd "$(dirname "$0")"
exec dotnet run -c Release --project src/RtUdp.Daemon -p:RunWorkingDirectory="$caller" -- ${args[@]+"${args[@]}"}
