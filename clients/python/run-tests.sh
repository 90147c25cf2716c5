#!/usr/bin/env bash
# The Python package's tests, as ./test.sh runs them: installs clients/python (offline, Debian's setuptools) into
# a temporary venv that sees Debian's grpcio and protobuf (--system-site-packages), proving that it installs, then
# runs its pytest tests with that venv's interpreter against real rtudpd processes the tests start themselves.
# Prints the totals as `dotnet test` does ("Passed: N" ...) and each failure as "Failed NAME" with its message,
# so that ./test.sh counts them in its totals line and lists them in its tail.
# Usage: clients/python/run-tests.sh [pytest arguments]      (needs rtudpd and rtudpctl built in Release)
# The same-host tests load librtudp from $RTUDP_LIBRARY (set here from $RTUDP_LIBRARY_DIR, or published first).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=/usr/bin/python3 # Debian's: the one that sees python3-grpcio (a pyenv python3 on PATH does not)

export RTUDPD=${RTUDPD:-$repo/src/RtUdp.Daemon/bin/Release/net10.0/rtudpd}
export RTUDPCTL=${RTUDPCTL:-$repo/src/RtUdp.Ctl/bin/Release/net10.0/rtudpctl}
for project in RtUdp.Daemon:"$RTUDPD" RtUdp.Ctl:"$RTUDPCTL"; do
    if [[ ! -x ${project#*:} ]]; then
        echo "python tests: building src/${project%%:*} (Release)"
        dotnet build -c Release "$repo/src/${project%%:*}" >/dev/null || { echo "python tests: dotnet build of src/${project%%:*} failed" >&2; exit 2; }
    fi
done

# librtudp for the same-host (shared-memory) path: $RTUDP_LIBRARY if set; else the one ./test.sh published
# ($RTUDP_LIBRARY_DIR); else published here with scripts/build-librtudp.sh into artifacts/librtudp.
if [[ -z ${RTUDP_LIBRARY:-} ]]; then
    if [[ -n ${RTUDP_LIBRARY_DIR:-} ]]; then
        export RTUDP_LIBRARY=$RTUDP_LIBRARY_DIR/librtudp.so.1
    else
        echo "python tests: publishing librtudp (scripts/build-librtudp.sh)"
        librtudp=$("$repo/scripts/build-librtudp.sh" | tail -n 1) || { echo "python tests: scripts/build-librtudp.sh failed" >&2; exit 2; }
        export RTUDP_LIBRARY=$librtudp/lib/librtudp.so.1
    fi
fi
[[ -f $RTUDP_LIBRARY ]] || { echo "python tests: no librtudp at RTUDP_LIBRARY=$RTUDP_LIBRARY" >&2; exit 2; }
echo "python tests: librtudp $RTUDP_LIBRARY"

work=$(mktemp -d --tmpdir rtudp-python-tests.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$python" -m venv --system-site-packages "$work/venv" || exit 2
# --no-build-isolation: build with Debian's setuptools (there is no package index to fetch one from);
# --no-index: grpcio and protobuf must come from Debian's packages, never from the network.
if ! "$work/venv/bin/pip" install --quiet --no-build-isolation --no-index "$here" > "$work/pip.log" 2>&1; then
    cat "$work/pip.log"
    echo "python tests: pip install ./clients/python failed" >&2
    printf '  Failed python: pip install ./clients/python\n  Error Message:\n   see the pip output above\n     Passed:     0\n     Failed:     1\n' 
    exit 1
fi

cd "$here/tests" || exit 2
PYTHONDONTWRITEBYTECODE=1 "$work/venv/bin/python" -m pytest -p no:cacheprovider -rfE --junitxml="$work/junit.xml" "$@"
status=$?
"$python" "$here/tests/junit_summary.py" "$work/junit.xml"
exit "$status"
