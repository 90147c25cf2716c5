#!/usr/bin/env bash
# The one place that knows which Debian packages the tests use. `.ci/run` runs it; `./test.sh` runs it
# (as root) or names it (otherwise) when something is missing. Beyond these the tests need only the
# .NET 10 SDK.
#
# Usage: scripts/install-test-deps.sh            installs what is missing (root; apt-get)
#        scripts/install-test-deps.sh --check    lists what is missing, exits 1 if anything is
#        scripts/install-test-deps.sh --list     prints every package, one a line
set -euo pipefail

# Every package is named, never left to a Recommends: the install uses --no-install-recommends, and a
# package that only came as a recommendation once (libprotobuf-dev) hid a missing step until a fresh machine.
packages=(
    # Native layout tests compile C against the real headers; the benchmarks' C references.
    gcc libc6-dev linux-libc-dev binutils
    # librtudp's tests and C benchmark compile against rtudp.h through its pkg-config file (rtudp.pc). NativeAOT
    # (librtudp, scripts/build-librtudp.sh; the packaged rtudp-engine) links with clang (below) and binutils' ld.
    pkgconf
    # Network namespaces and veth pairs (ip), qdisc checks (tc), loss injection on a veth (nft: the
    # kernel here has no tc drop action), the capability probe's oracle (ethtool -T).
    iproute2 nftables ethtool
    # SCHED_FIFO, affinity and privilege separation: setcap/getcap, setpriv/chrt/taskset; cyclictest.
    libcap2-bin util-linux rt-tests procps
    # The Python client and examples: Debian's grpcio, stubs made with protoc. libprotobuf-dev holds the
    # well-known protos (google/protobuf/descriptor.proto), which google/api/annotations.proto imports.
    python3 python3-grpcio python3-protobuf python3-yaml protobuf-compiler protobuf-compiler-grpc libprotobuf-dev grpc-proto
    # The Python package (clients/python): built offline with Debian's setuptools and wheel, installed with pip
    # into a venv (python3-venv) for its pytest tests, which ./test.sh runs.
    python3-setuptools python3-wheel python3-pip python3-venv python3-pytest
    # Its TLS test makes a CA and certificates with openssl.
    openssl
    # Captures and rtudpctl's pcap files are read back with tshark.
    tshark
    # /metrics is checked with promtool and scraped by a real prometheus.
    prometheus
    # The package tests: build the .deb (dpkg-dev), lint it (lintian), inspect binaries (file), and boot
    # a minimal Debian under systemd-nspawn (mmdebstrap, systemd-container) to install it; the unit is
    # checked with systemd-analyze (systemd).
    dpkg-dev lintian file mmdebstrap systemd-container systemd
    # The package's version comes from git; the fresh-machine test clones the repository.
    git ca-certificates
    # The xdp data path (docs/xdp.md). The build compiles the steering program (src/RtUdp.Engine/Xdp/Bpf) with
    # clang for the bpf target; llvm brings llvm-objdump/llvm-strip to inspect it. libbpf-dev holds
    # bpf_helpers.h/bpf_endian.h, libxdp-dev xdp/xdp_helpers.h (XDP_RUN_CONFIG). At run time the engine
    # P/Invokes libxdp1 (the multi-program dispatcher, its xdp-dispatcher.o) and libbpf1 (map updates).
    clang llvm libbpf-dev libxdp-dev libxdp1 libbpf1
    # The xdp tests' oracles and the "other XDP user": xdp-loader (status, load/unload through the same
    # dispatcher, xdp-tools' own xdp_pass program) and bpftool (prog/net listings).
    xdp-tools bpftool
)

missing() {
    local p status
    for p in "${packages[@]}"; do
        status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
        [[ $status == ii* ]] || echo "$p"
    done
}

case "${1:-}" in
    --list)
        printf '%s\n' "${packages[@]}"
        exit 0
        ;;
    --check)
        command -v dpkg-query >/dev/null || { echo "install-test-deps: not a Debian system (no dpkg-query); the tests need these Debian packages: ${packages[*]}" >&2; exit 2; }
        todo=$(missing)
        [[ -z $todo ]] && exit 0
        echo "$todo"
        exit 1
        ;;
    "") ;;
    *)
        echo "usage: $0 [--check|--list]" >&2
        exit 2
        ;;
esac

command -v apt-get >/dev/null || { echo "install-test-deps: apt-get not found; install these Debian packages by hand: ${packages[*]}" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "install-test-deps: must run as root (apt-get install); try: sudo $0" >&2; exit 2; }

todo=$(missing)
if [[ -z $todo ]]; then
    echo "install-test-deps: all ${#packages[@]} packages are installed"
    exit 0
fi
echo "install-test-deps: installing" $todo
export DEBIAN_FRONTEND=noninteractive
# tshark's package asks whether non-root users may capture.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
# shellcheck disable=SC2086 # one package a word
apt-get install -y -qq --no-install-recommends $todo >/dev/null
todo=$(missing)
[[ -z $todo ]] || { echo "install-test-deps: still missing after apt-get install:" $todo >&2; exit 1; }
echo "install-test-deps: done"
