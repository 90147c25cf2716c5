#!/usr/bin/env bash
# Runs every test. Needs the .NET 10 SDK and the Debian packages that scripts/install-test-deps.sh installs:
# run as root, it installs any that are missing first (and says so); otherwise it names the command and stops.
# Some tests need root (SCHED_FIFO, network namespaces, setting the wall clock): they say so and CI runs as root.
# With arguments: one `dotnet test` of the solution with them (e.g. --filter ...); with --python [pytest args]:
# only the Python package's tests (clients/python/run-tests.sh), which a run without arguments ends with.
# Ends with one line of totals: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")"

command -v dotnet >/dev/null || { echo "test.sh: the .NET 10 SDK is not on PATH (dotnet)" >&2; exit 2; }

# What the tests need from outside .NET, before anything is built.
if ! missing=$(scripts/install-test-deps.sh --check); then
    if [[ -z $missing ]]; then
        exit 2 # not a Debian system: the script said what is needed
    fi
    if [[ $(id -u) -eq 0 ]]; then
        echo "test.sh: installing the packages the tests need:" $missing
        scripts/install-test-deps.sh || exit 2
    else
        echo "test.sh: the tests need Debian packages that are not installed:" $missing >&2
        echo "test.sh: install them with:  sudo scripts/install-test-deps.sh" >&2
        exit 2
    fi
fi

# A shell that starts a job in the background without job control ignores SIGINT for it, and the processes it
# starts inherit that: the tests that stop rtudpd with Ctrl+C (SIGINT) would then wait for it in vain.
if (( 0x$(awk '/^SigIgn:/ { print $2 }' /proc/self/status) & 2 )); then
    echo "test.sh: warning: SIGINT is ignored in this process (started in the background by a shell without job control?): the Ctrl+C tests will fail; run it in the foreground or with 'set -m'" >&2
fi

log=$(mktemp --tmpdir rtudp-test.XXXXXX.log)
trap 'rm -f "$log"' EXIT
run() { dotnet test "$@" -c Release --logger "console;verbosity=normal" 2>&1 | tee -a "$log"; return "${PIPESTATUS[0]}"; }

# The Python package's pytest tests print their totals and failures the way `dotnet test` does (counted below).
run_python() { clients/python/run-tests.sh "$@" 2>&1 | tee -a "$log"; return "${PIPESTATUS[0]}"; }

# librtudp (the C ABI, NativeAOT): published once here, used by the tests that compile C against it and by the
# Python package's same-host path, which find it through RTUDP_LIBRARY_DIR.
if ! librtudp=$(scripts/build-librtudp.sh | tail -n 1); then
    echo "test.sh: scripts/build-librtudp.sh failed: librtudp could not be built" >&2
    exit 1
fi
export RTUDP_LIBRARY_DIR=$librtudp/lib

status=0
if [[ ${1:-} == --python ]]; then
    shift
    run_python "$@" || status=$?
elif [[ $# -gt 0 ]]; then
    run RtUdp.sln "$@" || status=$?
else
    # Everything but the tests that step the host's wall clock (CLOCK_REALTIME)...
    run RtUdp.sln --filter "Category!=WallClockStep" || status=$?
    # ...which run afterwards, alone: tests of other assemblies compare CLOCK_REALTIME readings taken moments apart.
    run tests/RtUdp.Daemon.Tests --no-build --filter "Category=WallClockStep" || status=$?
    # The Python package (clients/python): installed into a temporary venv, tested against its own rtudpd.
    run_python || status=$?
fi

# The runner prints totals per assembly; one line for them all. A test whose body needs root passes
# without running it when not root (the runner does not show passed tests' output, so say it here).
count() { grep -a -E "^ +$1: +[0-9]+$" "$log" | grep -oE '[0-9]+' | awk '{ n += $1 } END { print n + 0 }'; }
[[ $(id -u) -eq 0 ]] || echo "test.sh: not root: tests that need root (SCHED_FIFO, namespaces, the wall clock) ran only their unprivileged part"
# The failed tests' names again at the end, where a log cut to its tail still shows them.
if grep -a -q -E "^ +Failed [A-Za-z]" "$log"; then
    echo "test.sh: failed (each with the start of its message and the test's own line of the stack):"
    # The runner prints "Failed <name>", "Error Message:", the message, "Stack Trace:", frames.
    awk '/^ +Failed [A-Za-z]/ { sub(/^ +Failed /, "  "); print; show = 1; lines = 0; next }
         show && /^ +Stack Trace:/ { stack = 1; next }
         show && stack && /Tests\/.*\.cs:line/ { sub(/^ +/, "      "); print; show = 0; stack = 0; next }
         show && !stack && !/^ +Error Message:/ && lines < 8 { sub(/^ */, "      "); print; lines++ }
         /^ +Passed [A-Za-z]/ { show = 0; stack = 0 }' "$log"
fi
echo "$(count Passed) passed, $(count Failed) failed, $(count Skipped) skipped"
exit "$status"
