#!/usr/bin/env bash
# The README's two commands on a fresh machine: a minimal Debian rootfs (mmdebstrap: minbase plus what the
# .NET SDK itself needs and git), the host's .NET SDK bound in read-only (it is not a Debian package), and a
# clone of the repository. In it, as a new user would, with systemd-nspawn:
#   1. `./run.sh` (before anything else is installed): the daemon answers gRPC health on its unix socket and on
#      127.0.0.1:50051, asked by rtudpctl; then Ctrl+C (SIGINT) stops it cleanly.
#   2. `./test.sh` as nobody: it names the install command and stops with exit 2 before building.
#   3. `./test.sh` as root: installs the Debian packages the tests need and passes.
# Prints PASS:/FAIL: lines, the test run's totals line, and "FRESH RESULT: N passed, N failed"; exits non-zero
# on any failure.
#
# Usage (root; mmdebstrap, systemd-container, git): packaging/e2e/fresh-machine.sh [COMMIT]   (default HEAD)
# The commit is cloned, so only what is committed is tested. RTUDP_FRESH_KEEP=1 keeps the rootfs afterwards.
#
# The container gets every capability (--capability=all) and shares the host's network: the tests create
# network namespaces and veth pairs, run workers at SCHED_FIFO, lock memory and boot a nested systemd-nspawn
# (the package's end-to-end test); all their traffic stays on loopback or in namespaces they create.
set -uo pipefail
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
commit=$(git -C "$repo" rev-parse --verify "${1:-HEAD}^{commit}") || exit 2
[[ $(id -u) -eq 0 ]] || { echo "fresh-machine.sh: must run as root (mmdebstrap, systemd-nspawn)" >&2; exit 2; }
for tool in mmdebstrap systemd-nspawn; do
    command -v "$tool" >/dev/null || { echo "fresh-machine.sh: $tool is missing: scripts/install-test-deps.sh installs it" >&2; exit 2; }
done
sdk=$(dirname "$(readlink -f "$(command -v dotnet)")")
[[ -x $sdk/dotnet ]] || { echo "fresh-machine.sh: no .NET SDK found (dotnet on PATH)" >&2; exit 2; }

passed=0 failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
log() { echo "fresh: $*"; }

work=$(mktemp -d /var/tmp/rtudp-fresh.XXXXXX)
rootfs=$work/rootfs
cleanup() {
    [[ -n ${daemon_pid:-} ]] && kill "$daemon_pid" 2>/dev/null
    if [[ ${RTUDP_FRESH_KEEP:-0} == 1 ]]; then log "kept $rootfs"; else rm -rf "$work"; fi
}
trap cleanup EXIT

started=$SECONDS
log "bootstrapping a minimal Debian bookworm (mmdebstrap minbase) in $rootfs"
mmdebstrap --quiet --variant=minbase --include=ca-certificates,libicu72,libssl3,git bookworm "$rootfs" \
    || { fail "mmdebstrap"; echo "FRESH RESULT: $passed passed, $failed failed"; exit 1; }
log "rootfs ready in $((SECONDS - started)) s"
git clone --quiet --no-checkout "file://$repo" "$rootfs/root/rtudp" && git -C "$rootfs/root/rtudp" checkout --quiet "$commit" \
    || { fail "git clone of $commit"; echo "FRESH RESULT: $passed passed, $failed failed"; exit 1; }
log "cloned $commit"

# A root shell on the fresh machine, in the clone. The CA bundle is the host's: the package registries are
# reached through this network's TLS proxy.
# SYSTEMD_NSPAWN_API_VFS_WRITABLE=yes: /sys and /proc/sys writable, as on a host: the network-path tests set sysctls
# (icmp_ratelimit) in the namespaces they create, and the xdp tests mount a bpffs at /sys/fs/bpf where there is none
# (libxdp pins there); nspawn mounts both read-only otherwise.
# --system-call-filter: nspawn's own seccomp filter refuses bpf(2) (the xdp steering program, bpftool) and
# pidfd_getfd(2) (the GSO tests take the engine's socket) whatever the capabilities; a host lets root have both.
inside() {
    SYSTEMD_NSPAWN_API_VFS_WRITABLE=yes systemd-nspawn -q --register=no --keep-unit --capability=all --system-call-filter='bpf pidfd_getfd' --console=pipe -D "$rootfs" --chdir=/root/rtudp \
        --bind-ro="$sdk:/usr/share/dotnet" --bind-ro=/etc/ssl/certs:/etc/ssl/certs \
        --setenv=PATH=/usr/share/dotnet:/usr/bin:/bin:/usr/sbin:/sbin --setenv=HOME=/root --setenv=USER=root \
        --setenv=NUGET_CERT_REVOCATION_MODE=offline --setenv=DOTNET_CLI_TELEMETRY_OPTOUT=1 --setenv=DOTNET_NOLOGO=1 \
        --setenv=TERM=dumb bash -c "$1"
}

# --- 1. ./run.sh, with nothing installed but the SDK ------------------------------------------------------
# rtudpctl is built first (nothing of rtudpd's is built then); run.sh then builds and starts rtudpd; the same
# container asks health over the unix socket and over TCP, then interrupts run.sh as Ctrl+C would.
started=$SECONDS
inside '
set -u
dotnet build -c Release src/RtUdp.Ctl > /tmp/ctl-build.log 2>&1 || { echo "rtudpctl build failed:"; tail -20 /tmp/ctl-build.log; exit 10; }
ctl=$(ls src/RtUdp.Ctl/bin/Release/net10.0/rtudpctl)
# Job control puts run.sh in a process group of its own, as a terminal would, so that Ctrl+C can be sent to it.
set -m
./run.sh > /tmp/run.log 2>&1 &
run=$!
set +m
sock=/tmp/rtudp-root/rtudp.sock
deadline=$((SECONDS + 300))
until "$ctl" --socket "$sock" health > /tmp/health-unix.txt 2>&1; do
    if ! kill -0 $run 2>/dev/null || (( SECONDS > deadline )); then
        echo "run.sh did not answer health on $sock:"; cat /tmp/health-unix.txt; tail -30 /tmp/run.log; kill -- -$run 2>/dev/null; exit 11
    fi
    sleep 1
done
echo "unix socket $sock: $(cat /tmp/health-unix.txt)"
"$ctl" --address http://127.0.0.1:50051 health > /tmp/health-tcp.txt 2>&1
tcp=$?
echo "127.0.0.1:50051: $(cat /tmp/health-tcp.txt)"
# Ctrl+C reaches every process of the foreground job: dotnet run and rtudpd.
kill -INT -- -$run
wait $run
stopped=$?
echo "run.sh exited $stopped"
tail -5 /tmp/run.log
[[ $tcp -eq 0 ]] || exit 12
grep -q SERVING /tmp/health-unix.txt && grep -q SERVING /tmp/health-tcp.txt || exit 13
[[ $stopped -eq 0 || $stopped -eq 130 ]] || exit 14
# Ctrl+C drains and stops the engine in order: the engine must not die of the SIGINT first.
grep -q "Engine stopped (clean: true)" /tmp/run.log && ! grep -q "exited unexpectedly" /tmp/run.log || exit 15
' 2>&1 | sed 's/^/  run: /'
status=${PIPESTATUS[0]}
if [[ $status -eq 0 ]]; then pass "./run.sh answered SERVING on its unix socket and on 127.0.0.1:50051 and Ctrl+C stopped it cleanly ($((SECONDS - started)) s)"
else fail "./run.sh (exit $status)"; fi

# --- 2. ./test.sh as a user who cannot install: it names the command and stops before building ------------
out=$(inside 'chmod o+rx /root; setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/tmp ./test.sh 2>&1; echo "exit $?"')
echo "$out" | sed 's/^/  unprivileged: /'
if grep -q "^exit 2$" <<<"$out" && grep -q "sudo scripts/install-test-deps.sh" <<<"$out" && ! grep -q -i "restore\|build" <<<"$out"; then
    pass "./test.sh as nobody names 'sudo scripts/install-test-deps.sh', exits 2 and builds nothing"
else fail "./test.sh as nobody"; fi

# --- 3. ./test.sh, which installs what the tests need ----------------------------------------------------
started=$SECONDS
inside './test.sh' > "$work/test.log" 2>&1
status=$?
elapsed=$((SECONDS - started))
grep -a -E "^test.sh: |^install-test-deps: " "$work/test.log" | sed 's/^/  test: /'
grep -a -E "^ +Failed [A-Za-z]|^\[xUnit.net .*\] +[A-Za-z].* \[FAIL\]" "$work/test.log" | sed 's/^/  test: /' | head -40
totals=$(grep -a -E "^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$" "$work/test.log" | tail -1)
echo "  test: totals: ${totals:-none} in $elapsed s"
cp "$work/test.log" "/var/tmp/rtudp-fresh-test.log"
log "the whole test log: /var/tmp/rtudp-fresh-test.log"
if [[ $status -eq 0 && $totals =~ ^[1-9][0-9]*\ passed,\ 0\ failed,\ 0\ skipped$ ]]; then pass "./test.sh: $totals ($elapsed s)"
else fail "./test.sh (exit $status): ${totals:-no totals line}"; fi

echo "FRESH RESULT: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
