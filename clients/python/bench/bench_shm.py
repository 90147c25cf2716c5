#!/usr/bin/python3
"""RtUdp.send_data's cost per call through the same-host path (librtudp's shared-memory ring, transport="shm") and
through gRPC (transport="grpc": the client-side queue and its SendStream), in the same run against the same rtudpd.

Each call is timed alone (time.perf_counter_ns around it); the packets are due slightly ahead (the first --ahead-us
after the first call, then every --period-us, CLOCK_MONOTONIC), so that the engine schedules them at a rate it can
send rather than late ("late": sent past the channel's late tolerance, the wire timing of both paths). After the calls, each channel
is flushed and its stats must show every packet sent. A gRPC send_data only puts the packet in a queue that another
thread streams, so its per-call cost hides work: "CPU us/pkt" is this process's CPU time (all threads) from the first
call until rtudpd has every packet, per packet; "to rtudpd pkt/s" the rate over the same span. Goal (issue 20): Python send_data <= 3 us per call through shm.

Prints a table and one machine-readable line, `BENCH_SHM {json}`.

usage: /usr/bin/python3 bench_shm.py [--socket PATH | --start-daemon] [--packets N] [--payload BYTES] [--ahead-us US]
                                     [--period-us US]
Needs the installed package (pip install --no-build-isolation ./clients/python) and librtudp ($RTUDP_LIBRARY, e.g.
artifacts/librtudp/lib/librtudp.so.1 from scripts/build-librtudp.sh); --start-daemon runs the repository's Release
rtudpd (as the tests do).
"""

import argparse
import json
import os
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from rtudp import RtUdp  # noqa: E402


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p / 100))]


def bench(transport, daemon, sink_port, n, payload, ahead_ns, period_ns, warmup):
    """(row dict) for n send_data calls through `transport`."""
    with RtUdp("127.0.0.1", 0, "127.0.0.1", sink_port, capacity=max(65536, n + warmup), direction=0, daemon=daemon,
               priority=0, queue_size=65536, transport=transport) as tx:
        assert tx.transport == transport, tx.transport_reason
        send, now, clock = tx.send_data, time.monotonic_ns, time.perf_counter_ns
        for _ in range(warmup):  # not counted: first calls, caches, the stream's set-up
            send(payload, now() + ahead_ns)
        tx.wait_sent(60)
        before = tx.get_packet_stats()
        costs = [0] * n
        cpu_began = time.process_time_ns()
        began = clock()
        first_due = now() + ahead_ns
        for i in range(n):
            due = first_due + i * period_ns
            t = clock()
            send(payload, due)
            costs[i] = clock() - t
        calls_done = clock()
        tx.flush(120)
        drained = clock()
        cpu_ns = time.process_time_ns() - cpu_began  # this process's CPU (every thread: gRPC's stream included)
        stats = tx.wait_sent(120)
        costs.sort()
        return {
            "transport": transport,
            "calls": n,
            "p50_ns": percentile(costs, 50),
            "p90_ns": percentile(costs, 90),
            "p99_ns": percentile(costs, 99),
            "p99_9_ns": percentile(costs, 99.9),
            "max_ns": costs[-1],
            "mean_ns": sum(costs) / n,
            "calls_per_s": n / ((calls_done - began) / 1e9),
            "sustained_pps": n / ((drained - began) / 1e9),
            "cpu_ns_per_packet": cpu_ns / n,
            "sent": stats["n_packets_sent"] - before["n_packets_sent"],
            "dropped": stats["n_packets_dropped"] - before["n_packets_dropped"],
            "late": stats["n_packets_late"] - before["n_packets_late"],
            "full_waits": stats["client_ring_full_waits"] - before["client_ring_full_waits"],
            "send_error_p99_ns": stats["send_error_p99_ns"],
            "reason": tx.transport_reason,
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--socket", help="rtudpd's unix socket (default: the default socket, as rtudpctl finds it)")
    parser.add_argument("--start-daemon", action="store_true", help="start a rtudpd of its own (the repository's Release build)")
    parser.add_argument("--packets", type=int, default=100_000)
    parser.add_argument("--payload", type=int, default=64, help="payload bytes (default 64)")
    parser.add_argument("--ahead-us", type=int, default=1000, help="the first packet is due this long after the first call (default 1000 us)")
    parser.add_argument("--period-us", type=float, default=10.0,
                        help="the packets' due times are this far apart (default 10 us: 100,000 packets/s on the wire)")
    parser.add_argument("--warmup", type=int, default=2_000)
    args = parser.parse_args()
    payload = b"x" * args.payload

    with tempfile.TemporaryDirectory(prefix="rtudp-bench-") as root, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        daemon_process = None
        address = args.socket
        if args.start_daemon:
            from daemon_process import start_daemon

            daemon_process = start_daemon(root)
            address = daemon_process.socket_path
        try:
            sink.bind(("127.0.0.1", 0))  # the packets' destination: nobody reads it (the kernel drops the overflow)
            port = sink.getsockname()[1]
            print(f"send_data per call: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, {args.payload}-byte payloads,"
                  f" {args.packets} calls each, due from {args.ahead_us} us ahead every {args.period_us} us, daemon {address or 'default'}")
            rows = [bench(transport, address, port, args.packets, payload, args.ahead_us * 1000, round(args.period_us * 1000), args.warmup)
                    for transport in ("shm", "grpc")]
        finally:
            if daemon_process is not None:
                from daemon_process import stop_daemon

                stop_daemon(daemon_process)

    print(f"{'path':<6} {'p50 us':>8} {'p90 us':>8} {'p99 us':>8} {'p99.9 us':>9} {'max us':>9} {'calls/s':>11}"
          f" {'to rtudpd pkt/s':>16} {'CPU us/pkt':>11} {'sent':>8} {'late':>6} {'full waits':>11}")
    for r in rows:
        print(f"{r['transport']:<6} {r['p50_ns'] / 1e3:8.2f} {r['p90_ns'] / 1e3:8.2f} {r['p99_ns'] / 1e3:8.2f}"
              f" {r['p99_9_ns'] / 1e3:9.2f} {r['max_ns'] / 1e3:9.1f} {r['calls_per_s']:11,.0f} {r['sustained_pps']:16,.0f}"
              f" {r['cpu_ns_per_packet'] / 1e3:11.2f}"
              f" {r['sent']:>8} {r['late']:>6} {r['full_waits']:>11}")
    shm, grpc_row = rows
    all_sent = all(r["sent"] == r["calls"] for r in rows)
    goal = shm["p50_ns"] <= 3000 and all_sent
    print(f"shm path: {shm['reason']}")
    print(f"goal (Python send_data through shm p50 <= 3 us, every packet sent): {'met' if goal else 'NOT met'};"
          f" this process's CPU per packet: shm {shm['cpu_ns_per_packet'] / 1e3:.2f} us, gRPC {grpc_row['cpu_ns_per_packet'] / 1e3:.2f} us"
          " (gRPC's send_data only queues: its stream's thread does the rest)")
    line = {"payload": args.payload, "calls": args.packets, "period_us": args.period_us, "goal_met": goal}
    for r in rows:
        for key in ("p50_ns", "p90_ns", "p99_ns", "p99_9_ns", "max_ns", "calls_per_s", "sustained_pps", "cpu_ns_per_packet", "sent",
                    "late", "full_waits"):
            line[f"{r['transport']}_{key}"] = round(r[key]) if isinstance(r[key], float) else r[key]
    print("BENCH_SHM " + json.dumps(line, sort_keys=True))
    return 0 if all_sent else 1


if __name__ == "__main__":
    sys.exit(main())
