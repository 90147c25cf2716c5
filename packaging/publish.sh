#!/usr/bin/env bash
# Release build of the three programs into one directory (the layout of /usr/lib/rtudp):
#   rtudpd        self-contained, ReadyToRun (ASP.NET starts ~2x faster than JIT-only)
#   rtudp-engine  NativeAOT where this host can link for the target (no JIT, no runtime allocation
#                 after start: see packaging/README.md for the figures); else self-contained
#                 ReadyToRun beside rtudpd, sharing its runtime files
#   rtudpctl      self-contained ReadyToRun, when src/RtUdp.Ctl exists
#   rtudp_xdp.bpf.o  the xdp steering program rtudp-engine loads (BPF bytecode, built by the engine's project)
# Usage: packaging/publish.sh RID OUTDIR      (RID: linux-x64 or linux-arm64)
set -euo pipefail
rid=${1:?usage: publish.sh RID OUTDIR} out=${2:?usage: publish.sh RID OUTDIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

case $rid in linux-x64) arch=x86_64 ;; linux-arm64) arch=aarch64 ;; *) echo "publish.sh: unsupported RID $rid" >&2; exit 2 ;; esac
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

publish() { # PROJECT OUT EXTRA...
    local project=$1 dest=$2
    shift 2
    if ! dotnet publish "$repo/$project" -c Release -r "$rid" --self-contained -o "$dest" "$@" >"$work/publish.log" 2>&1; then
        cat "$work/publish.log" >&2
        echo "publish.sh: dotnet publish $project failed" >&2
        return 1
    fi
    # Trimming/AOT analysis warnings would mean code that can break at run time: refuse them.
    if grep -E "warning (IL|NETSDK)[0-9]+" "$work/publish.log" >&2; then
        echo "publish.sh: $project published with warnings" >&2
        return 1
    fi
}

publish src/RtUdp.Daemon "$out" -p:PublishReadyToRun=true

if [[ $(uname -m) == "$arch" ]]; then
    publish src/RtUdp.Engine "$work/engine" -p:PublishAot=true -p:RtUdpRequireBpf=true
    # The AOT engine is one file; the JIT engine that came with rtudpd's project reference goes.
    rm -f "$out"/rtudp-engine "$out"/rtudp-engine.dll "$out"/rtudp-engine.deps.json "$out"/rtudp-engine.runtimeconfig.json "$out"/rtudp-engine.pdb
    install -m 0755 "$work/engine/rtudp-engine" "$out/rtudp-engine"
    echo "publish.sh: rtudp-engine is NativeAOT"
else
    # NativeAOT links with the target's toolchain and libraries, which a cross build here lacks.
    publish src/RtUdp.Engine "$work/engine" -p:PublishReadyToRun=true -p:RtUdpRequireBpf=true
    for f in rtudp-engine rtudp-engine.dll rtudp-engine.deps.json rtudp-engine.runtimeconfig.json; do
        install -m 0644 "$work/engine/$f" "$out/$f"
    done
    chmod 0755 "$out/rtudp-engine"
    echo "publish.sh: rtudp-engine is ReadyToRun (NativeAOT needs a $arch host)" >&2
fi

# The xdp data path's steering program (docs/xdp.md), built with the engine; rtudp-engine loads it from its
# own directory. BPF bytecode, the same for every architecture.
[[ -f $work/engine/rtudp_xdp.bpf.o ]] || { echo "publish.sh: rtudp-engine's publish has no rtudp_xdp.bpf.o" >&2; exit 1; }
install -m 0644 "$work/engine/rtudp_xdp.bpf.o" "$out/rtudp_xdp.bpf.o"

if [[ -d $repo/src/RtUdp.Ctl ]]; then
    publish src/RtUdp.Ctl "$work/ctl" -p:PublishReadyToRun=true
    # Same runtime version as rtudpd: only the program's own files differ.
    cp -n -r "$work/ctl/." "$out/"
    cp "$work/ctl"/rtudpctl* "$out/"
    [[ -x $out/rtudpctl ]] || { echo "publish.sh: src/RtUdp.Ctl did not produce rtudpctl" >&2; exit 1; }
else
    echo "publish.sh: WARNING: src/RtUdp.Ctl is missing: rtudpctl is not included" >&2
fi

# Debug symbols stay out of the package; nothing is stripped (strip breaks single-file bundles and
# the runtime's own binaries come stripped).
find "$out" -name '*.pdb' -delete
rm -f "$out"/*.dbg "$out"/*.staticwebassets.endpoints.json
# Deterministic modes: programs 0755, everything else 0644.
find "$out" -type f -exec chmod 0644 {} +
chmod 0755 "$out"/rtudpd "$out"/rtudp-engine "$out"/createdump
[[ ! -e $out/rtudpctl ]] || chmod 0755 "$out/rtudpctl"
echo "publish.sh: $rid -> $out"
