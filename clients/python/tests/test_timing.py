"""Timing from Python: packets scheduled 1 ms apart with send_data leave within the send-error range of the same
schedule from the C# client (rtudpctl send --at --rate 1000), measured by kernel RX stamps (SO_TIMESTAMPNS) on a
receiving socket of the test's own. Both schedules run on the same channel at the same time, interleaved (C#'s
packets on the millisecond, Python's half a millisecond later), so that a busy machine disturbs both alike."""

import os
import subprocess
import time

from rtudp import RtUdp

from conftest import RTUDPCTL
from kernel_stamps import StampingSocket

COUNT = 200
SPACING_NS = 1_000_000
OFFSET_NS = 500_000  # Python's packets between C#'s
LEAD_NS = 2_000_000_000  # the first packet's time after the schedules are made: rtudpctl starts (.NET) and enqueues well before
LIVE_LEAD_NS = 10_000_000  # a live sender: each send_data call 10 ms before its packet's time
# A timed channel is pinned: it owns that CPU and runs SCHED_FIFO 80 (unpinned ones default to SCHED_OTHER).
TIMED_CPU = max(os.sched_getaffinity(0))


def _errors_us(received, payload, first_due_ns):
    stamps = [stamp for data, stamp in received if data == payload]
    assert len(stamps) == COUNT, f"{len(stamps)} {payload!r} packets of {COUNT}"
    return sorted((stamp - (first_due_ns + i * SPACING_NS)) / 1e3 for i, stamp in enumerate(stamps))


def _summary(errors):
    return f"p50 {errors[len(errors) // 2]:.0f} us, p99 {errors[int(len(errors) * 0.99)]:.0f} us, min {errors[0]:.0f}, max {errors[-1]:.0f} us"


def _assert_same_range(python, csharp):
    print(f"\nC# (rtudpctl): {_summary(csharp)}\nPython (send_data): {_summary(python)}")
    assert min(python) >= 0 and min(csharp) >= 0, "a packet left before its time"
    # The same range: the median within 50 us of C#'s, and the 99th percentile within C#'s range (its largest error,
    # plus 200 us: of 200 packets the p99 is the second worst, which one wake-up of a busy machine decides).
    assert python[COUNT // 2] <= csharp[COUNT // 2] + 50, f"median: Python {_summary(python)}; C# {_summary(csharp)}"
    assert python[int(COUNT * 0.99)] <= csharp[-1] + 200, f"p99: Python {_summary(python)}; C# {_summary(csharp)}"


def _start_csharp_schedule(daemon, tx, first):
    return subprocess.Popen([RTUDPCTL, "send", tx.name, "csharp", "--at", str(first), "--rate", "1000", "--count", str(COUNT),
                             "--socket", daemon.socket_path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _run(daemon, send_python):
    sink = StampingSocket()
    try:
        with RtUdp("127.0.0.1", 0, "127.0.0.1", sink.port, cpu=TIMED_CPU, direction=0, daemon=daemon.socket_path, capacity=4096) as tx:
            first = time.monotonic_ns() + LEAD_NS
            ctl = _start_csharp_schedule(daemon, tx, first)
            send_python(tx, first + OFFSET_NS)
            output, _ = ctl.communicate(timeout=60)
            assert ctl.returncode == 0, output
            received = sink.receive(2 * COUNT, timeout_s=10)
            stats = tx.wait_sent(timeout_s=10)
    finally:
        sink.close()
    assert stats["n_packets_sent"] == 2 * COUNT and stats["n_packets_dropped"] == 0
    return _errors_us(received, b"python", first + OFFSET_NS), _errors_us(received, b"csharp", first), stats


def test_a_schedule_made_with_send_data_leaves_as_accurately_as_the_csharp_clients(daemon):
    def schedule(tx, first):
        for i in range(COUNT):
            tx.send_data(b"python", first + i * SPACING_NS)

    python, csharp, stats = _run(daemon, schedule)
    assert stats["tx_arrived_late"] == 0, "packets reached the engine after their time: a longer LEAD_NS"
    _assert_same_range(python, csharp)


def test_live_send_data_calls_leave_as_accurately_as_the_csharp_clients(daemon):
    """Each Python packet handed over LIVE_LEAD_NS before its time, as a live sender does (pacing with time.sleep,
    which releases the GIL: a pure-Python spin would hold it and keep gRPC's threads from the stream for up to
    sys.getswitchinterval(), 5 ms, at a time)."""
    def live(tx, first):
        time.sleep(max(0, first - LIVE_LEAD_NS - time.monotonic_ns()) / 1e9)
        for i in range(COUNT):
            due = first + i * SPACING_NS
            remaining = due - LIVE_LEAD_NS - time.monotonic_ns()
            if remaining > 0:
                time.sleep(remaining / 1e9)
            tx.send_data(b"python", due)

    python, csharp, stats = _run(daemon, live)
    assert stats["tx_arrived_late"] <= COUNT // 100, f"{stats['tx_arrived_late']} of {COUNT} reached the engine after their time"
    _assert_same_range(python, csharp)
