"""A UDP socket of the test's own that reads each datagram's kernel RX stamp (SO_TIMESTAMPNS), in CLOCK_MONOTONIC."""

import socket
import struct
import time
from typing import List, Tuple

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def realtime_minus_monotonic_ns() -> int:
    """CLOCK_REALTIME - CLOCK_MONOTONIC, from the tightest of a few bracketed reads."""
    best = None
    for _ in range(20):
        before = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        real = time.clock_gettime_ns(time.CLOCK_REALTIME)
        after = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        if best is None or after - before < best[0]:
            best = (after - before, real - (before + after) // 2)
    return best[1]


class StampingSocket:
    def __init__(self, address: str = "127.0.0.1") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((address, 0))
        self.port = self.sock.getsockname()[1]

    def receive(self, count: int, timeout_s: float) -> List[Tuple[bytes, int]]:
        """count datagrams as (payload, kernel RX stamp in CLOCK_MONOTONIC ns); fails after timeout_s without one."""
        offset = realtime_minus_monotonic_ns()
        self.sock.settimeout(timeout_s)
        out = []
        for _ in range(count):
            data, ancillary, _, _ = self.sock.recvmsg(65535, socket.CMSG_SPACE(16))
            stamp = next(struct.unpack("qq", d[:16]) for level, kind, d in ancillary if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS)
            out.append((data, stamp[0] * 1_000_000_000 + stamp[1] - offset))
        return out

    def close(self) -> None:
        self.sock.close()
