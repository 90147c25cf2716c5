#!/usr/bin/env bash
# Runs every test. Some need root (SCHED_FIFO, network namespaces, setting the wall clock): they say so and CI
# runs as root. With arguments: one `dotnet test` of the solution with them (e.g. --filter ...).
set -uo pipefail
cd "$(dirname "$0")"
if [ "$#" -gt 0 ]; then
    exec dotnet test RtUdp.sln -c Release --logger "console;verbosity=normal" "$@"
fi
status=0
# Everything but the tests that step the host's wall clock (CLOCK_REALTIME)...
dotnet test RtUdp.sln -c Release --logger "console;verbosity=normal" --filter "Category!=WallClockStep" || status=$?
# ...which run afterwards, alone: tests of other assemblies compare CLOCK_REALTIME readings taken moments apart.
dotnet test tests/RtUdp.Daemon.Tests -c Release --no-build --logger "console;verbosity=normal" --filter "Category=WallClockStep" || status=$?
exit "$status"
