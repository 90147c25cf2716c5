#!/usr/bin/python3
"""The original RtUdp example against rtudpd, with the rtudp package: a receiver, a sender, one packet 1 ms ahead,
its stats.

usage: /usr/bin/python3 seed_flow.py [SOCKET]   (default: rtudpd's default socket, or $RTUDP_SOCKET)
Needs the package: pip install --no-build-isolation ./clients/python (or Debian's python3-rtudp).
"""

import sys
import time

from rtudp import RtUdp

daemon = sys.argv[1] if len(sys.argv) > 1 else None

# RtUdp(local_ip, local_port, remote_ip, remote_port, cpu, capacity, direction) + init_socket + start
rx = RtUdp("127.0.0.1", 0, cpu=-1, capacity=1024, direction=1, daemon=daemon, priority=0)
rx.init_socket()
rx.start()
tx = RtUdp("127.0.0.1", 0, "127.0.0.1", rx.local_port, cpu=-1, capacity=1024, direction=0, daemon=daemon, priority=0)
tx.init_socket()
tx.start()
print("receiver", rx.name, "on port", rx.local_port, "; sender", tx.name)

# send_data(bytes, timestamp_ns): the daemon host's CLOCK_MONOTONIC (time.monotonic_ns() here), 1 ms from now
due = time.monotonic_ns() + 1_000_000
tx.send_data(b"hello from the seed flow", due)

# receive_data(timeout_ns) -> (data, timestamp_ns), or (None, None) on timeout
data, rx_ns = rx.receive_data(timeout_ns=2_000_000_000)
assert data is not None, "nothing received within 2 s"
source = rx.client.get_channel(tx.name).bound_local
print(f"received {data!r} from {source.address}:{source.port}, {rx_ns - due} ns after its time")
assert data == b"hello from the seed flow" and rx_ns >= due

# get_packet_stats(): every counter and percentile (rtudp.stats); wait_sent() waits until nothing is pending
stats = tx.wait_sent(timeout_s=5)
print("sender stats: sent", stats["n_packets_sent"], "late", stats["n_packets_late"], "balanced", stats["tx_balanced"],
      "max latency", stats["max_latency_ns"], "ns; send error p50", stats["send_error_p50_ns"], "ns, p99", stats["send_error_p99_ns"], "ns")
assert stats["n_packets_sent"] == 1 and stats["tx_balanced"]

# stop + close_socket
for c in (tx, rx):
    c.stop()
    c.close_socket()
print("OK")
