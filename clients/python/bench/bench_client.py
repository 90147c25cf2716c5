#!/usr/bin/python3
"""send_data and receive_data throughput of the rtudp package, beside the first example client's way (one unary
Send RPC per packet, examples/python/rtudp_client.py before the package), in the same run against the same rtudpd.

  send_data   calls/s from one Python thread and the per-call cost (p50, p99, max), then flush: the rate counts
              until rtudpd has every packet, and the daemon's stats must show every packet sent
  unary Send  the old way: one SendRequest per packet, per-call cost and calls/s (fewer calls: it is slow)
  receive     receive_data packets/s from a flood that a separate process sends to the receiving channel, as it
              comes; then receive_data's own cost, draining a flood already buffered in the client

usage: /usr/bin/python3 bench_client.py [--socket PATH | --start-daemon] [--packets N] [--unary-packets N]
                                        [--flood-packets N] [--flood-rate PPS]
Needs the installed package (pip install --no-build-isolation ./clients/python); --start-daemon runs the
Release rtudpd of this repository (as the tests do).
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

from rtudp import RtUdp
from rtudp.v1 import packet_pb2

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

PAYLOAD = b"x" * 64


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p / 100))]


def costs_line(label, costs_ns, elapsed_s, n):
    costs_ns.sort()
    return (f"{label:<28} {n:>8} calls  {n / elapsed_s:>10,.0f} calls/s   per call p50 {percentile(costs_ns, 50) / 1e3:7.1f} us"
            f"  p99 {percentile(costs_ns, 99) / 1e3:7.1f} us  max {costs_ns[-1] / 1e3:8.1f} us")


def bench_send_data(daemon, sink_port, n):
    with RtUdp("127.0.0.1", 0, "127.0.0.1", sink_port, capacity=max(65536, n), direction=0, daemon=daemon, priority=0,
               queue_size=65536) as tx:
        for _ in range(1000):  # warm-up, not counted
            tx.send_data(PAYLOAD)
        tx.wait_sent(30)
        before = tx.get_packet_stats()["n_packets_sent"]
        costs = [0] * n
        clock = time.perf_counter_ns
        send = tx.send_data
        began = clock()
        for i in range(n):
            t = clock()
            send(PAYLOAD)
            costs[i] = clock() - t
        calls_done = clock()
        tx.flush(60)
        flushed = clock()
        stats = tx.wait_sent(60)
        sent = stats["n_packets_sent"] - before
        print(costs_line("send_data (SendStream)", costs, (calls_done - began) / 1e9, n))
        print(f"{'':<28} sustained to the daemon (calls + flush): {n / ((flushed - began) / 1e9):,.0f} packets/s;"
              f" daemon sent {sent} of {n}, dropped {stats['n_packets_dropped']}, ring-full waits {stats['client_ring_full_waits']}")
        return n / ((flushed - began) / 1e9), percentile(costs, 50), sent == n


def bench_unary(daemon, sink_port, n):
    """The first example client's send_data: one PacketService.Send per packet."""
    with RtUdp("127.0.0.1", 0, "127.0.0.1", sink_port, capacity=65536, direction=0, daemon=daemon, priority=0) as tx:
        stub, name = tx.client.packets.Send, tx.name

        def old_send_data(payload, ts=None):
            packet = packet_pb2.OutgoingPacket(payload=bytes(payload))
            if ts is not None:
                packet.monotonic_ns = ts
            return stub(packet_pb2.SendRequest(channel=name, packets=[packet]), timeout=10).first_due_monotonic_ns

        for _ in range(100):
            old_send_data(PAYLOAD)
        costs = [0] * n
        clock = time.perf_counter_ns
        began = clock()
        for i in range(n):
            t = clock()
            old_send_data(PAYLOAD)
            costs[i] = clock() - t
        elapsed = (clock() - began) / 1e9
        stats = tx.wait_sent(60)
        print(costs_line("unary Send (old example)", costs, elapsed, n))
        print(f"{'':<28} daemon sent {stats['n_packets_sent'] - 100} of {n}")


FLOOD = """
import socket, sys, time
port, n, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
payload = b"f" * 64
began = time.monotonic()
burst = 100
for i in range(0, n, burst):
    due = began + i / rate
    while time.monotonic() < due:
        pass
    for _ in range(min(burst, n - i)):
        s.sendto(payload, ("127.0.0.1", port))
print(f"{n / (time.monotonic() - began):.0f}")
"""


def bench_receive(daemon, n, rate):
    with RtUdp("127.0.0.1", 0, direction=1, daemon=daemon, priority=0, capacity=65536, receive_buffer=1 << 20) as rx:
        flood = subprocess.Popen([sys.executable, "-c", FLOOD, str(rx.local_port), str(n), str(rate)], stdout=subprocess.PIPE, text=True)
        received = 0
        first = last = None
        while True:
            data, _ = rx.receive_data(timeout_ns=1_000_000_000)
            if data is None:
                if flood.poll() is not None:
                    break
                continue
            last = time.perf_counter()
            if first is None:
                first = last
            received += 1
            if received == n:
                break
        sent_rate = float(flood.communicate()[0] or 0)
        stats = rx.get_packet_stats()
        span = (last - first) if first is not None and last != first else float("nan")
        print(f"{'receive_data (ReceiveStream)':<28} {received:>8} packets {received / span:>10,.0f} packets/s   (flood offered {n} at"
              f" {sent_rate:,.0f}/s; daemon received {stats['rx_received']}, dropped by the kernel {stats['rx_dropped_kernel']},"
              f" ring overflow {stats['rx_dropped_overflow']})")


def bench_receive_buffered(daemon, n, rate):
    """receive_data's own cost: the flood first lands in the client's buffer (nothing read), then is drained."""
    with RtUdp("127.0.0.1", 0, direction=1, daemon=daemon, priority=0, capacity=65536, receive_buffer=1 << 20) as rx:
        flood = subprocess.Popen([sys.executable, "-c", FLOOD, str(rx.local_port), str(n), str(rate)], stdout=subprocess.PIPE, text=True)
        flood.communicate()
        deadline = time.monotonic() + 60
        # Everything the daemon took from its ring (rx drained) has reached the client's buffer.
        while (stats := rx.get_packet_stats())["client_rx_buffered"] < stats["rx_drained"] or stats["rx_buffered"] > 0:
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        buffered = stats["client_rx_buffered"]
        costs = [0] * buffered
        clock = time.perf_counter_ns
        began = clock()
        for i in range(buffered):
            t = clock()
            data, _ = rx.receive_data(timeout_ns=0)
            costs[i] = clock() - t
            assert data is not None
        elapsed = (clock() - began) / 1e9
        print(costs_line("receive_data (buffered)", costs, elapsed, buffered).replace("calls/s", "pkts/s "))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--socket", help="rtudpd's address (default: the default socket, as rtudpctl finds it)")
    parser.add_argument("--start-daemon", action="store_true", help="start a rtudpd of its own (the repository's Release build)")
    parser.add_argument("--packets", type=int, default=200_000)
    parser.add_argument("--unary-packets", type=int, default=3_000)
    parser.add_argument("--flood-packets", type=int, default=200_000)
    parser.add_argument("--flood-rate", type=float, default=100_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rtudp-bench-") as root, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        daemon_process = None
        address = args.socket
        if args.start_daemon:
            from daemon_process import start_daemon

            daemon_process = start_daemon(root)
            address = daemon_process.socket_path
        try:
            # The packets' destination: a socket of ours that nobody reads (the kernel drops what overflows it).
            sink.bind(("127.0.0.1", 0))
            port = sink.getsockname()[1]
            print(f"rtudp package benchmark: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, {len(PAYLOAD)}-byte payloads, daemon {address or 'default'}")
            rate, p50, all_sent = bench_send_data(address, port, args.packets)
            bench_unary(address, port, args.unary_packets)
            bench_receive(address, args.flood_packets, args.flood_rate)
            bench_receive_buffered(address, args.flood_packets, args.flood_rate)
            goal = rate >= 50_000 and p50 <= 20_000 and all_sent
            print(f"goal (send_data p50 <= 20 us, >= 50,000 calls/s sustained, every packet sent): {'met' if goal else 'NOT met'}")
        finally:
            if daemon_process is not None:
                from daemon_process import stop_daemon

                stop_daemon(daemon_process)


if __name__ == "__main__":
    main()
