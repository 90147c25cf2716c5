#!/usr/bin/env bash
# A first session with rtudpctl, against a running ./run.sh; README.md "A first session" quotes the lines
# below verbatim and tests/RtUdp.Daemon.Tests/Hosting/ReadmeExampleTests.cs runs this file from the
# repository root. rtudpctl must be on PATH (dotnet build -c Release src/RtUdp.Ctl puts it in
# src/RtUdp.Ctl/bin/Release/net10.0).
set -euo pipefail
# --- README begin ---
out=$(mktemp -d)
rtudpctl health                                # SERVING: rtudpd answers and its engine runs
rtudpctl channels create rx --direction receive --local 127.0.0.1:5000 --priority 0
rtudpctl channels create tx --direction send --remote 127.0.0.1:5000 --priority 0
rtudpctl channels ls
rtudpctl send tx hello world --delay 1ms       # one packet, 1 ms from now
rtudpctl recv rx --count 1 --timeout 2s --pcap "$out/rx.pcap"
rtudpctl send tx tick --rate 1000 --count 100  # 100 packets, 1 ms apart
rtudpctl stats tx
rtudpctl hist tx --kind send-error --percentiles 50,99
rtudpctl channels rm tx; rtudpctl channels rm rx

# A measured flow: a sequenced sender and receiver, a generator, the one-way latency.
rtudpctl channels create frx --direction receive --local 127.0.0.1:5001 --sequenced --priority 0
rtudpctl channels create ftx --direction send --remote 127.0.0.1:5001 --sequenced --flow-id 7 --priority 0
rtudpctl gen start ftx --period 1ms --count 200 --id g1
timeout 30 sh -c 'until rtudpctl gen ls ftx | grep -q completed; do sleep 0.1; done'
rtudpctl stats frx                             # flows: packets 200, unique 200, lost 0, ...
rtudpctl hist frx --kind one-way
rtudpctl channels rm ftx; rtudpctl channels rm frx
rm -r "$out"
# --- README end ---
