#!/usr/bin/python3
"""The original RtUdp example against rtudpd: a receiver, a sender, one packet 1 ms ahead, its stats.

usage: /usr/bin/python3 seed_flow.py [SOCKET]   (default: rtudpd's default socket, or $RTUDP_SOCKET)
"""

import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the example
from rtudp_client import RtUdp  # noqa: E402

socket = sys.argv[1] if len(sys.argv) > 1 else None

# RtUdp(local_ip, local_port, remote_ip, remote_port, cpu, capacity, direction) + init_socket + start
rx = RtUdp("127.0.0.1", 0, direction="receive", capacity=1024, socket=socket, priority=0)
rx.init_socket()
rx.start()
tx = RtUdp("127.0.0.1", 0, "127.0.0.1", rx.local_port, cpu=-1, capacity=1024, direction="send", socket=socket, priority=0)
tx.init_socket()
tx.start()
print("receiver", rx.name, "on port", rx.local_port, "; sender", tx.name)

# send_data(bytes, ts): ts is the daemon host's CLOCK_MONOTONIC, here 1 ms from now
due = tx.send_data(b"hello from the seed flow", tx.now_ns() + 1_000_000)

# receive_data(timeout)
got = rx.receive_data(timeout=2.0)
assert got is not None, "nothing received within 2 s"
payload, source, rx_ns = got
print(f"received {payload!r} from {source[0]}:{source[1]}, {rx_ns - due} ns after its time")
assert payload == b"hello from the seed flow" and rx_ns >= due

# get_packet_stats (the sender's count settles once the engine has sent it)
for _ in range(500):
    stats = tx.get_packet_stats()
    if stats.get("sent", 0) == 1:
        break
    time.sleep(0.01)
print("sender stats: sent", stats.get("sent"), "late", stats.get("late", 0), "balanced", stats["tx_balanced"],
      "send error percentiles (ns)", stats.get("send_error_percentiles_ns"))
assert stats.get("sent") == 1 and stats["tx_balanced"]

# stop + close_socket
for c in (tx, rx):
    c.stop()
    c.close_socket()
print("OK")
