"""The same-host path: RtUdp over librtudp's shared-memory rings (docs/shm-clients.md), against the tests' real rtudpd.

run-tests.sh sets $RTUDP_LIBRARY to the librtudp scripts/build-librtudp.sh published; without it these tests fail
naming what is missing (they are not skipped: the path they test is the default one on this host).
"""

import ctypes
import os
import re
import subprocess
import time

import pytest

from conftest import free_udp_port, wait_until
from daemon_process import REPO

HEADER = os.path.join(REPO, "src", "RtUdp.Native", "include", "rtudp.h")


@pytest.fixture(scope="module")
def library():
    """librtudp as the package loads it ($RTUDP_LIBRARY)."""
    from rtudp import _shm

    path = os.environ.get(_shm.LIBRARY_VARIABLE)
    if not path:
        pytest.fail("$RTUDP_LIBRARY is not set: run the tests with clients/python/run-tests.sh (it publishes librtudp)")
    loaded = _shm.load()
    if loaded.library is None:
        pytest.fail(f"librtudp does not load: {loaded.reason}")
    return loaded.library


@pytest.fixture
def shm_daemon(daemon, library):
    """The daemon, once its shared-memory socket is there (rtudpd creates it as it starts listening)."""
    from rtudp import _shm

    broker = _shm.broker_socket(daemon.socket_path)
    assert os.path.exists(broker), f"rtudpd has no shared-memory socket at {broker}:\n{daemon.log()[-3000:]}"
    return daemon


def _pair(daemon, **kwargs):
    from rtudp import RtUdp

    rx = RtUdp("127.0.0.1", 0, direction=1, daemon=daemon.socket_path, priority=0, **kwargs)
    rx.init_socket()
    tx = RtUdp("127.0.0.1", 0, "127.0.0.1", rx.local_port, direction=0, daemon=daemon.socket_path, priority=0, **kwargs)
    tx.init_socket()
    rx.start(); tx.start()
    return tx, rx


def _close(*channels):
    for channel in channels:
        channel.close_socket()


# -- the ABI: what the bindings say against what rtudp.h says -----------------------------------------------------

def test_the_bindings_match_rtudp_h(tmp_path):
    """Every struct's size and field offsets, and every constant, as gcc compiles rtudp.h."""
    from rtudp import _shm

    lines = []
    for struct in (_shm.rtudp_packet, _shm.rtudp_rx_info, _shm.rtudp_stats):
        lines.append(f'printf("{struct.__name__} size %zu\\n", sizeof({struct.__name__}));')
        for name, _ in struct._fields_:
            lines.append(f'printf("{struct.__name__} {name} %zu\\n", offsetof({struct.__name__}, {name}));')
    constants = sorted(set(re.findall(r"^#define (RTUDP_[A-Z_]+) ", open(HEADER).read(), re.M)))
    for name in constants:
        lines.append(f'printf("const {name} %lld\\n", (long long)({name}));')
    source = tmp_path / "abi.c"
    source.write_text('#include <stddef.h>\n#include <stdio.h>\n#include "rtudp.h"\nint main(void) {\n' + "\n".join(lines)
                      + "\nreturn 0;\n}\n")
    binary = tmp_path / "abi"
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Werror", "-I", os.path.dirname(HEADER), "-o", str(binary), str(source)],
                   check=True, capture_output=True, text=True)
    out = subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout.splitlines()
    seen = 0
    for line in out:
        kind, name, value = line.split()
        value = int(value)
        if kind == "const":
            if name in ("RTUDP_H",):
                continue
            assert hasattr(_shm, name), f"_shm lacks {name} (rtudp.h: {value})"
            assert getattr(_shm, name) == value, f"{name}: _shm {getattr(_shm, name)}, rtudp.h {value}"
        else:
            struct = getattr(_shm, kind)
            actual = ctypes.sizeof(struct) if name == "size" else getattr(struct, name).offset
            assert actual == value, f"{kind}.{name}: ctypes {actual}, gcc {value}"
        seen += 1
    assert seen > 40
    # Every status the header names is mapped to an exception.
    assert {name for name in constants if name.startswith("RTUDP_E_")} == {entry[0] for entry in _shm.STATUS.values()}


def test_the_library_loaded_speaks_abi_1_on_the_monotonic_clock(library):
    from rtudp import _shm

    assert library.rtudp_abi_version() == _shm.ABI_VERSION == 1
    assert library.last_error() == "" or isinstance(library.last_error(), str)
    now = time.monotonic_ns()
    assert abs(library.monotonic_ns() - now) < 1_000_000_000  # the same clock as time.monotonic_ns()


# -- the original example, through shared memory -------------------------------------------------------------------

def test_the_original_example_runs_through_shared_memory(shm_daemon, default_socket):
    sender_port, receiver_port = free_udp_port("127.0.64.5"), free_udp_port("127.0.128.133")
    cpus = sorted(os.sched_getaffinity(0))
    sender_cpu, receiver_cpu = cpus[-1], cpus[0]

    # --- the original's block ---
    from rtudp import RtUdp
    sender = RtUdp("127.0.64.5", sender_port, "127.0.128.133", receiver_port, cpu=sender_cpu, capacity=1000000, direction=0)   # 0 send, 1 receive, 2 both
    receiver = RtUdp("127.0.128.133", receiver_port, "127.0.64.5", sender_port, cpu=receiver_cpu, capacity=4000, direction=1)
    sender.init_socket(); receiver.init_socket()
    sender.start(); receiver.start()
    timestamp_ns = time.monotonic_ns() + 1000000
    sender.send_data(b"Hello World", timestamp_ns)
    data, timestamp = receiver.receive_data(timeout_ns=100000)
    stats = sender.get_packet_stats()
    # --- (before stop) ---

    assert sender.transport == "shm" and receiver.transport == "shm", (sender.transport_reason, receiver.transport_reason)
    assert "librtudp" in sender.transport_reason
    if data is None:  # the documented timeout result: the packet is due 1 ms after the call
        assert timestamp is None
        data, timestamp = receiver.receive_data(timeout_ns=5_000_000_000)
    assert data == b"Hello World"
    assert timestamp >= timestamp_ns, "received before its time"
    stats = wait_until(lambda: (s := sender.get_packet_stats())["n_packets_sent"] == 1 and s, 5, "packet counted sent")
    assert stats["transport"] == "shm"
    assert stats["shm_tx_accepted"] == 1 and stats["shm_tx_malformed"] == 0
    assert stats["client_queued"] == 1 and stats["client_confirmed"] == 1
    assert stats["max_latency_ns"] == stats["send_error_max_ns"] and stats["max_latency_ns"] > 0
    rstats = receiver.get_packet_stats()
    assert rstats["transport"] == "shm" and rstats["shm_rx_delivered"] == 1 and rstats["client_received"] == 1

    sender.stop(); receiver.stop(); sender.close_socket(); receiver.close_socket()


def test_many_packets_arrive_in_order_with_their_stamps_and_source(shm_daemon):
    tx, rx = _pair(shm_daemon)
    try:
        assert (tx.transport, rx.transport) == ("shm", "shm")
        start = time.monotonic_ns() + 2_000_000
        for i in range(500):
            tx.send_data(b"p%04d" % i, start + i * 20_000)
        got = []
        while len(got) < 500:
            packet = rx.receive_packet(timeout_ns=5_000_000_000)
            assert packet is not None, f"only {len(got)} of 500 packets arrived"
            got.append(packet)
        assert [p.payload for p in got] == [b"p%04d" % i for i in range(500)]
        assert all(p.monotonic_ns >= start for p in got)
        assert {(p.source.address, p.source.port) for p in got} == {("127.0.0.1", tx.local_port)}
        assert [p.sequence for p in got] == sorted(p.sequence for p in got)
        assert rx.receive_data(timeout_ns=0) == (None, None)
        stats = tx.wait_sent(timeout_s=10)
        assert stats["n_packets_sent"] == 500 and stats["shm_tx_accepted"] == 500 and stats["tx_balanced"]
    finally:
        _close(tx, rx)


def test_receive_data_times_out_with_none_none_after_the_timeout(shm_daemon):
    tx, rx = _pair(shm_daemon)
    try:
        assert rx.transport == "shm"
        began = time.monotonic_ns()
        assert rx.receive_data(timeout_ns=20_000_000) == (None, None)
        assert time.monotonic_ns() - began >= 20_000_000
        assert rx.receive_data(timeout_ns=0) == (None, None)
        assert rx.receive_packet(timeout_ns=0) is None
    finally:
        _close(tx, rx)


def test_packets_sent_before_start_and_after_a_restart_keep_their_order(shm_daemon):
    from rtudp import RtUdp

    rx = RtUdp("127.0.0.1", 0, direction=1, daemon=shm_daemon.socket_path, priority=0)
    rx.init_socket()
    tx = RtUdp("127.0.0.1", 0, "127.0.0.1", rx.local_port, direction=0, daemon=shm_daemon.socket_path, priority=0)
    tx.init_socket()
    try:
        assert rx.start() is True
        tx.send_data(b"before start")       # not attached yet: over gRPC, into the channel's ring
        assert tx.start() is True and tx.start() is False
        tx.send_data(b"after start")        # through the shared-memory ring
        assert rx.receive_data(timeout_ns=5_000_000_000)[0] == b"before start"
        assert rx.receive_data(timeout_ns=5_000_000_000)[0] == b"after start"
        tx.stop(); rx.stop()
        assert tx.get_packet_stats()["shm_tx_accepted"] == 1
        assert tx.start() is True and rx.start() is True   # attached again
        tx.send_data(b"after restart")
        assert rx.receive_data(timeout_ns=5_000_000_000)[0] == b"after restart"
        stats = tx.wait_sent(timeout_s=10)
        assert stats["n_packets_sent"] == 3 and stats["client_queued"] == 3 and stats["client_unconfirmed"] == 0
    finally:
        _close(tx, rx)


def test_packets_received_before_stop_can_still_be_read(shm_daemon):
    tx, rx = _pair(shm_daemon)
    try:
        for i in range(3):
            tx.send_data(b"kept %d" % i)
        wait_until(lambda: rx.get_packet_stats()["shm_rx_delivered"] == 3, 5, "3 packets in the receiver's ring")
        rx.stop()
        assert [rx.receive_data(timeout_ns=0)[0] for _ in range(3)] == [b"kept 0", b"kept 1", b"kept 2"]
        from rtudp import ChannelStateError
        with pytest.raises(ChannelStateError, match="not running"):
            rx.receive_data(timeout_ns=0)
    finally:
        _close(tx, rx)


def test_duplex_channels_send_and_receive_through_one_attachment_each(shm_daemon):
    from rtudp import RtUdp

    a_port, b_port = free_udp_port("127.0.0.1"), free_udp_port("127.0.0.1")
    with RtUdp("127.0.0.1", a_port, "127.0.0.1", b_port, direction=2, daemon=shm_daemon.socket_path, priority=0) as a, \
         RtUdp("127.0.0.1", b_port, "127.0.0.1", a_port, direction=2, daemon=shm_daemon.socket_path, priority=0) as b:
        assert (a.transport, b.transport) == ("shm", "shm")
        a.send_data(b"a to b")
        assert b.receive_data(timeout_ns=5_000_000_000)[0] == b"a to b"
        b.send_data(b"b to a", time.monotonic_ns() + 1_000_000)
        assert a.receive_data(timeout_ns=5_000_000_000)[0] == b"b to a"
        stats = a.get_packet_stats()
        assert stats["shm_tx_accepted"] == 1 and stats["shm_rx_delivered"] == 1


# -- choosing the path ---------------------------------------------------------------------------------------------

def test_transport_grpc_still_works_beside_shm(shm_daemon):
    tx, rx = _pair(shm_daemon, transport="grpc")
    try:
        assert (tx.transport, rx.transport) == ("grpc", "grpc")
        assert "asked" in tx.transport_reason
        stamp = time.monotonic_ns() + 1_000_000
        tx.send_data(b"over grpc", stamp)
        data, timestamp = rx.receive_data(timeout_ns=5_000_000_000)
        assert data == b"over grpc" and timestamp >= stamp
        stats = tx.wait_sent(timeout_s=10)
        assert stats["transport"] == "grpc" and stats["n_packets_sent"] == 1 and stats["shm_tx_accepted"] == 0
    finally:
        _close(tx, rx)


def test_rtudp_transport_variable_chooses_and_is_checked(shm_daemon, monkeypatch):
    from rtudp import InvalidArgumentError, RtUdp

    monkeypatch.setenv("RTUDP_TRANSPORT", "grpc")
    channel = RtUdp("127.0.0.1", 0, direction=1, daemon=shm_daemon.socket_path)
    assert channel.transport == "grpc"
    channel.client.close()
    channel = RtUdp("127.0.0.1", 0, direction=1, daemon=shm_daemon.socket_path, transport="shm")  # the keyword wins
    assert channel.transport == "shm"
    channel.client.close()
    monkeypatch.setenv("RTUDP_TRANSPORT", "fast")
    with pytest.raises(InvalidArgumentError, match="RTUDP_TRANSPORT='fast'"):
        RtUdp("127.0.0.1", 0, direction=1, daemon=shm_daemon.socket_path)
    with pytest.raises(InvalidArgumentError) as refused:
        RtUdp("127.0.0.1", 0, direction=1, daemon=shm_daemon.socket_path, transport="udp")
    assert refused.value.field_violations[0].field == "transport"


def test_shm_without_the_library_is_a_clear_error(shm_daemon, monkeypatch, tmp_path):
    from rtudp import RtUdp, ShmUnavailableError

    missing = str(tmp_path / "librtudp.so.1")
    monkeypatch.setenv("RTUDP_LIBRARY", missing)
    with pytest.raises(ShmUnavailableError) as refused:
        RtUdp("127.0.0.1", 0, direction=1, daemon=shm_daemon.socket_path, transport="shm")
    assert "transport=\"shm\" is not possible" in str(refused.value) and missing in str(refused.value)
    assert "no such file" in str(refused.value)
    not_a_library = tmp_path / "libnot.so"
    not_a_library.write_bytes(b"not an ELF file")
    monkeypatch.setenv("RTUDP_LIBRARY", str(not_a_library))
    with pytest.raises(ShmUnavailableError, match="cannot be loaded"):
        RtUdp("127.0.0.1", 0, direction=1, daemon=shm_daemon.socket_path, transport="shm")


def test_auto_without_the_library_uses_grpc_and_says_why(shm_daemon, monkeypatch, tmp_path):
    missing = str(tmp_path / "librtudp.so.1")
    monkeypatch.setenv("RTUDP_LIBRARY", missing)
    tx, rx = _pair(shm_daemon)
    try:
        assert (tx.transport, rx.transport) == ("grpc", "grpc")
        assert tx.transport_reason.startswith("auto: ") and missing in tx.transport_reason and "using gRPC" in tx.transport_reason
        tx.send_data(b"fallback")
        assert rx.receive_data(timeout_ns=5_000_000_000)[0] == b"fallback"
        assert tx.get_packet_stats()["transport"] == "grpc"
    finally:
        _close(tx, rx)


def test_auto_with_a_tcp_address_uses_grpc_and_shm_is_refused(shm_daemon):
    from rtudp import RtUdp, ShmUnavailableError

    channel = RtUdp("127.0.0.1", 0, direction=1, daemon=shm_daemon.tcp_address)
    assert channel.transport == "grpc" and "not at a unix socket" in channel.transport_reason
    channel.client.close()
    with pytest.raises(ShmUnavailableError, match="not at a unix socket"):
        RtUdp("127.0.0.1", 0, direction=1, daemon=shm_daemon.tcp_address, transport="shm")


def test_auto_without_the_daemons_shm_socket_uses_grpc(shm_daemon, monkeypatch, tmp_path):
    from rtudp import RtUdp, ShmUnavailableError

    monkeypatch.setenv("RTUDP_SHM_SOCKET", str(tmp_path / "none.sock"))
    channel = RtUdp("127.0.0.1", 0, direction=1, daemon=shm_daemon.socket_path)
    assert channel.transport == "grpc" and "none.sock does not exist" in channel.transport_reason
    channel.client.close()
    with pytest.raises(ShmUnavailableError, match="none.sock does not exist"):
        RtUdp("127.0.0.1", 0, direction=1, daemon=shm_daemon.socket_path, transport="shm")


# -- errors --------------------------------------------------------------------------------------------------------

def test_a_payload_over_max_payload_is_refused_by_the_library(shm_daemon):
    from rtudp import InvalidArgumentError, RtUdp

    with RtUdp("127.0.0.1", 0, "127.0.0.1", 9, direction=0, daemon=shm_daemon.socket_path, priority=0, max_payload=100,
               transport="shm") as tx:
        tx.send_data(b"x" * 100)
        with pytest.raises(InvalidArgumentError) as refused:
            tx.send_data(b"x" * 101)
        error = refused.value
        assert error.reason == "RTUDP_E_TOO_LARGE" and error.metadata["code"] == "-6"
        assert error.field_violations[0].field == "data"
        assert "rtudp_send" in str(error) and error.detail  # the library's message
        with pytest.raises(InvalidArgumentError, match="must be bytes"):
            tx.send_data("text")
        with pytest.raises(InvalidArgumentError, match="negative"):
            tx.send_data(b"x", -5)
        tx.send_data(bytearray(b"a bytearray"), None)
        assert tx.wait_sent(timeout_s=10)["shm_tx_accepted"] == 2


def test_a_deleted_channel_raises_not_found_on_the_next_send_and_on_close(shm_daemon):
    from rtudp import Client, NotFoundError, RtUdp

    tx = RtUdp("127.0.0.1", 0, "127.0.0.1", 9, direction=0, daemon=shm_daemon.socket_path, priority=0)
    tx.init_socket()
    tx.start()
    assert tx.transport == "shm"
    tx.send_data(b"before the delete")
    other = Client(shm_daemon.socket_path)
    other.delete_channel(tx.name)
    other.close()
    with pytest.raises(NotFoundError) as caught:  # the ring says detached at once: no later failure to wait for
        tx.send_data(b"after the delete")
    assert "RTUDP_E_DETACHED" in str(caught.value) and caught.value.code.name == "NOT_FOUND"
    with pytest.raises(NotFoundError):
        tx.close_socket()


def test_an_unknown_channel_and_a_stopped_one_are_refused_with_the_librarys_message(shm_daemon, library):
    from rtudp import ChannelStateError, NotFoundError, RtUdp, _shm

    broker = _shm.broker_socket(shm_daemon.socket_path)
    with pytest.raises(NotFoundError) as refused:
        _shm.Attachment(library, broker, "no-such-channel", _shm.RTUDP_ATTACH_SEND, "raise", None)
    assert refused.value.reason == "RTUDP_E_NOT_FOUND" and "no-such-channel" in str(refused.value)
    tx = RtUdp("127.0.0.1", 0, "127.0.0.1", 9, direction=0, daemon=shm_daemon.socket_path, priority=0)
    tx.init_socket()  # created, not started
    try:
        with pytest.raises(ChannelStateError) as refused:
            _shm.Attachment(library, broker, tx.name, _shm.RTUDP_ATTACH_SEND, "raise", None)
        assert refused.value.reason == "RTUDP_E_PRECONDITION"
    finally:
        tx.close_socket()


def test_an_unreachable_broker_is_daemon_unreachable(library, tmp_path):
    from rtudp import DaemonUnreachableError, _shm

    with pytest.raises(DaemonUnreachableError) as refused:
        _shm.Attachment(library, str(tmp_path / "nobody.sock"), "tx", _shm.RTUDP_ATTACH_SEND, "raise", None)
    assert refused.value.reason == "RTUDP_E_CONNECT" and "nobody.sock" in str(refused.value)


def test_a_full_ring_raises_queue_full_and_block_waits_then_raises(shm_daemon):
    """A stopped receiver's peer is irrelevant here: packets due 30 s ahead fill the channel's ring (capacity 4),
    then the client's ring behind it (back-pressure, never a drop)."""
    from rtudp import QueueFullError, RtUdp
    from rtudp.v1 import channel_pb2

    drop = channel_pb2.Channel(client_exit=channel_pb2.CLIENT_EXIT_POLICY_DROP)
    with RtUdp("127.0.0.1", 0, "127.0.0.1", 9, capacity=4, direction=0, daemon=shm_daemon.socket_path, priority=0,
               on_full="raise", channel=drop) as tx:
        assert tx.transport == "shm"
        due = time.monotonic_ns() + 30_000_000_000
        payload = b"f" * 8000
        sent = 0
        with pytest.raises(QueueFullError) as full:
            while sent < 10_000:
                tx.send_data(payload, due)
                sent += 1
        assert full.value.reason == "RTUDP_E_AGAIN"
        assert 4 <= sent < 10_000
        stats = tx.get_packet_stats()
        assert stats["client_ring_full_waits"] >= 1 and stats["shm_tx_ring_used_bytes"] > 0
        assert stats["client_queued"] == sent
        # Stopped with its ring full under client_exit drop: every packet written is accepted or dropped, counted.
        tx.stop()
        stopped = tx.get_packet_stats()
        assert stopped["client_accepted"] + stopped["client_dropped_detach"] == sent, stopped
        assert stopped["client_dropped_detach"] > 0 and stopped["client_malformed"] == 0
    with RtUdp("127.0.0.1", 0, "127.0.0.1", 9, capacity=4, direction=0, daemon=shm_daemon.socket_path, priority=0,
               block_timeout_s=0.05) as tx:
        due = time.monotonic_ns() + 30_000_000_000
        began = time.monotonic()
        with pytest.raises(QueueFullError, match="after waiting 0.05 s"):
            for _ in range(10_000):
                tx.send_data(b"f" * 8000, due)
        assert time.monotonic() - began >= 0.05


def test_past_the_per_user_attachment_limit_auto_falls_back_to_grpc_and_shm_is_refused(shm_daemon):
    """rtudpd's Limits:PerClientShmAttachments (8 by default): the ninth attachment of this user is refused."""
    from rtudp import ResourceExhaustedError, RtUdp

    opened = []
    try:
        for _ in range(8):
            channel = RtUdp("127.0.0.1", 0, "127.0.0.1", 9, direction=0, daemon=shm_daemon.socket_path, priority=0)
            opened.append(channel)
            channel.init_socket(); channel.start()
            assert channel.transport == "shm", channel.transport_reason
        ninth = RtUdp("127.0.0.1", 0, "127.0.0.1", 9, direction=0, daemon=shm_daemon.socket_path, priority=0)
        opened.append(ninth)
        ninth.init_socket(); ninth.start()
        assert ninth.transport == "grpc"
        assert "RTUDP_E_EXHAUSTED" in ninth.transport_reason and "using gRPC" in ninth.transport_reason
        ninth.send_data(b"over grpc")
        assert ninth.wait_sent(timeout_s=10)["n_packets_sent"] == 1
        tenth = RtUdp("127.0.0.1", 0, "127.0.0.1", 9, direction=0, daemon=shm_daemon.socket_path, priority=0, transport="shm")
        opened.append(tenth)
        tenth.init_socket()
        with pytest.raises(ResourceExhaustedError) as refused:
            tenth.start()
        assert refused.value.reason == "RTUDP_E_EXHAUSTED" and "PerClientShmAttachments" in str(refused.value)
        opened[0].close_socket()  # one attachment fewer: the next one is taken again
        again = RtUdp("127.0.0.1", 0, "127.0.0.1", 9, direction=0, daemon=shm_daemon.socket_path, priority=0, transport="shm")
        opened.append(again)
        again.init_socket(); again.start()
        assert again.transport == "shm"
    finally:
        for channel in opened:
            channel.close_socket()


def test_while_attached_for_receiving_grpc_receive_on_the_channel_is_refused(shm_daemon):
    from rtudp import ChannelStateError, Client, RtUdp
    from rtudp.v1 import packet_pb2

    with RtUdp("127.0.0.1", 0, direction=1, daemon=shm_daemon.socket_path, priority=0) as rx:
        assert rx.transport == "shm"
        other = Client(shm_daemon.socket_path)
        try:
            with pytest.raises(ChannelStateError) as refused:
                other.call(other.packets.Receive, packet_pb2.ReceiveRequest(channel=rx.name))
            assert str(os.getpid()) in str(refused.value)  # names the same-host client
        finally:
            other.close()


def _engine_pid(daemon_pid: int):
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                with open(f"/proc/{entry}/comm") as f:
                    comm = f.read().strip()
            except OSError:
                continue
            if int(fields[1]) == daemon_pid and comm.startswith("rtudp-engine") and fields[0] != "Z":
                return int(entry)
    return None


def _epoch(channel) -> int:
    from rtudp import RtUdpError

    try:
        return channel.get_packet_stats()["shm_engine_epoch"]
    except RtUdpError:  # UNAVAILABLE while the engine restarts
        return -1


def test_an_engine_restart_keeps_the_attachment_and_its_packets(library):
    """The engine SIGKILLed: packets written meanwhile wait in the ring, the daemon hands it to the new engine
    (epoch 1), and they leave; the same RtUdp goes on sending. A daemon of its own: its engine is killed."""
    import signal
    import socket
    import tempfile

    from daemon_process import start_daemon, stop_daemon
    from rtudp import RtUdp

    with tempfile.TemporaryDirectory(prefix="rtudp-restart-") as root, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        sink.settimeout(30)
        daemon = start_daemon(root)
        try:
            with RtUdp("127.0.0.1", 0, "127.0.0.1", sink.getsockname()[1], direction=0, daemon=daemon.socket_path,
                       priority=0) as tx:
                assert tx.transport == "shm", tx.transport_reason
                tx.send_data(b"before")
                assert sink.recv(100) == b"before"
                engine = wait_until(lambda: _engine_pid(daemon.process.pid), 10, "the engine process")
                os.kill(engine, signal.SIGKILL)
                wait_until(lambda: not os.path.exists(f"/proc/{engine}") or _engine_pid(daemon.process.pid) != engine, 10,
                           "the engine gone")
                for i in range(20):  # the ring holds them until the new engine takes it
                    tx.send_data(b"during %d" % i)
                wait_until(lambda: _epoch(tx) >= 1, 60, "the ring handed to the new engine")
                assert [sink.recv(100) for _ in range(20)] == [b"during %d" % i for i in range(20)]
                tx.send_data(b"after")
                assert sink.recv(100) == b"after"
                stats = tx.wait_sent(timeout_s=30)
                assert stats["shm_state"] == 1 and stats["shm_tx_malformed"] == 0 and stats["transport"] == "shm"
                assert "reattached to " + tx.name in daemon.log()
        finally:
            stop_daemon(daemon)
