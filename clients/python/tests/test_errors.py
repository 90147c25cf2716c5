"""Each error path against the real daemon: a bad address, no daemon, a deleted channel, a full ring, invalid
arguments (raised at once), and calls that do not fit the channel."""

import os
import socket
import time

import pytest

import rtudp
from rtudp import Client, RtUdp


def test_a_bad_address_raises_the_daemons_field_violation(daemon):
    with pytest.raises(rtudp.InvalidArgumentError) as caught:
        RtUdp("999.1.1.1", 0, direction=1, daemon=daemon.socket_path).init_socket()
    assert caught.value.code.name == "INVALID_ARGUMENT"
    assert [v.field for v in caught.value.field_violations] == ["channel.local.address"]
    assert "999.1.1.1" in caught.value.field_violations[0].description
    assert isinstance(caught.value, ValueError)


def test_a_cpu_the_host_does_not_have_is_a_field_violation_too(daemon):
    with pytest.raises(rtudp.InvalidArgumentError) as caught:
        RtUdp("127.0.0.1", 0, "127.0.0.1", 9, cpu=4096, direction=0, daemon=daemon.socket_path).init_socket()
    assert any(v.field == "channel.send_cpu" for v in caught.value.field_violations), caught.value.field_violations


def test_a_cpu_another_channel_owns_is_refused_naming_the_owner_unless_shared(daemon):
    from rtudp.v1 import channel_pb2
    cpu = max(os.sched_getaffinity(0))
    with RtUdp("127.0.0.1", 0, "127.0.0.1", 9, cpu=cpu, direction=0, daemon=daemon.socket_path, channel_id="owner") as owner:
        with pytest.raises(rtudp.ChannelStateError) as caught:
            RtUdp("127.0.0.1", 0, "127.0.0.1", 9, cpu=cpu, direction=0, daemon=daemon.socket_path).init_socket()
        assert caught.value.code.name == "FAILED_PRECONDITION"
        assert f"CPU {cpu} is owned by channel 'owner' (its send worker)" in str(caught.value)
        shared = channel_pb2.Channel(flags=[channel_pb2.CHANNEL_FLAG_SHARE_CPU])
        with RtUdp("127.0.0.1", 0, "127.0.0.1", 9, cpu=cpu, direction=0, daemon=daemon.socket_path, channel=shared) as sharer:
            assert sharer.local_port > 0
        assert owner.local_port > 0


def test_no_daemon_at_a_missing_socket(tmp_path):
    missing = str(tmp_path / "rtudp.sock")
    with pytest.raises(rtudp.DaemonUnreachableError) as caught:
        RtUdp("127.0.0.1", 0, direction=1, daemon=missing).init_socket()
    assert caught.value.address == missing and caught.value.reason == "no such socket"
    assert isinstance(caught.value, ConnectionError)


def test_no_daemon_behind_a_socket_file_or_a_tcp_port(tmp_path):
    dead = str(tmp_path / "dead.sock")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(dead)  # a socket file nobody listens on: connection refused
    with pytest.raises(rtudp.DaemonUnreachableError) as caught:
        RtUdp("127.0.0.1", 0, direction=1, daemon=dead).init_socket()
    assert "Connection refused" in caught.value.reason
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: refused
        with pytest.raises(rtudp.DaemonUnreachableError):
            Client(f"http://127.0.0.1:{port}").clock_ns()


def test_the_default_daemon_is_named_when_it_is_not_there(tmp_path, monkeypatch):
    monkeypatch.delenv("RTUDP_SOCKET", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    candidates = rtudp.default_socket_candidates()
    expected = os.path.join(str(tmp_path), "rtudp", "rtudp.sock")
    assert expected in candidates and "/run/rtudp/rtudp.sock" in candidates
    assert candidates[0] == ("/run/rtudp/rtudp.sock" if os.geteuid() == 0 else expected)
    if not os.path.exists("/run/rtudp/rtudp.sock"):
        with pytest.raises(rtudp.DaemonUnreachableError) as caught:
            RtUdp("127.0.0.1", 0, direction=1).init_socket()
        assert caught.value.address == candidates[0]


def test_a_deleted_channel_raises_on_the_next_call_and_on_flush(daemon):
    # The gRPC path finds the refusal later, on its stream (the shm path at once: test_shm.py).
    tx = RtUdp("127.0.0.1", 0, "127.0.0.1", 9, direction=0, daemon=daemon.socket_path, priority=0, transport="grpc")
    tx.init_socket()
    tx.start()
    Client(daemon.socket_path).delete_channel(tx.name)
    with pytest.raises(rtudp.NotFoundError) as caught:
        # Queued at once; the daemon's refusal comes back later, on flush; or already here when the stream start()
        # opened was ended by the delete before this call.
        tx.send_data(b"after the delete")
        tx.flush(timeout_s=10)
    assert caught.value.code.name == "NOT_FOUND" and "does not exist" in caught.value.detail
    # A new stream finds the channel gone too: the next send_data (or flush) raises it.
    tx.send_data(b"again")
    with pytest.raises(rtudp.NotFoundError):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            tx.send_data(b"again")
    with pytest.raises(rtudp.NotFoundError):
        tx.close_socket()


def test_stop_raises_a_send_failure_not_raised_yet(daemon):
    tx = RtUdp("127.0.0.1", 0, "127.0.0.1", 9, direction=0, daemon=daemon.socket_path, priority=0, transport="grpc")
    tx.init_socket()
    tx.start()
    Client(daemon.socket_path).delete_channel(tx.name)
    tx.send_data(b"x")
    with pytest.raises(rtudp.NotFoundError):
        tx.stop()


def test_a_full_ring_on_a_unary_send_says_how_many_went_in(daemon):
    tx = RtUdp("127.0.0.1", 0, "127.0.0.1", 9, direction=0, capacity=4, daemon=daemon.socket_path, priority=0)
    tx.init_socket()  # created, not started: its ring fills, nothing drains it
    try:
        sent = 0
        with pytest.raises(rtudp.ResourceExhaustedError) as caught:
            for _ in range(10_000):
                sent += tx.send_now([(b"r" * 1000, None)] * 10).accepted
        error = caught.value
        assert error.reason == "RING_FULL" and error.retry_delay_s is not None and error.retry_delay_s > 0
        accepted = int(error.metadata["accepted"])
        assert 0 <= accepted < 10
        assert tx.get_stats().tx.enqueued == sent + accepted
    finally:
        tx.close_socket()


def test_a_full_ring_blocks_send_data_then_raises_queue_full_and_loses_nothing(daemon):
    with RtUdp("127.0.0.1", 0, direction=1, daemon=daemon.socket_path, priority=0) as rx:
        tx = RtUdp("127.0.0.1", 0, "127.0.0.1", rx.local_port, direction=0, capacity=4, daemon=daemon.socket_path,
                   priority=0, queue_size=16, block_timeout_s=0.5)
        tx.init_socket()  # not started: nothing drains the ring, which fills; then the stream, then the queue
        queued = 0
        began = time.monotonic()
        with pytest.raises(rtudp.QueueFullError):
            for _ in range(100_000):
                tx.send_data(b"q" * 1000)
                queued += 1
        assert time.monotonic() - began >= 0.5, "raised before block_timeout_s"
        stats = tx.get_packet_stats()
        assert stats["client_queued"] == queued and stats["tx_rejected_full"] > 0
        # Once the channel runs, every packet queued leaves: back-pressure, not loss.
        tx.start()
        stats = tx.wait_sent(timeout_s=30)
        assert stats["n_packets_sent"] == queued == stats["client_confirmed"]
        received = 0
        while rx.receive_data(timeout_ns=2_000_000_000)[0] is not None:
            received += 1
            if received == queued:
                break
        assert received == queued
        tx.close_socket()


def test_on_full_raise_refuses_at_once(daemon):
    tx = RtUdp("127.0.0.1", 0, "127.0.0.1", 9, direction=0, capacity=4, daemon=daemon.socket_path, priority=0,
               queue_size=4, on_full="raise")
    tx.init_socket()
    with pytest.raises(rtudp.QueueFullError):
        for _ in range(100_000):
            tx.send_data(b"f" * 1000)
    tx.close_socket()


@pytest.mark.parametrize("data, timestamp, field", [
    ("text", None, "data"),
    (b"x" * 9001, None, "data"),
    (b"x", -1, "timestamp_ns"),
    (b"x", 1.5, "timestamp_ns"),
    (b"x", True, "timestamp_ns"),
])
def test_invalid_send_arguments_raise_at_once(daemon, data, timestamp, field):
    with RtUdp("127.0.0.1", 0, "127.0.0.1", 9, direction=0, daemon=daemon.socket_path, priority=0) as tx:
        with pytest.raises(rtudp.InvalidArgumentError) as caught:
            tx.send_data(data, timestamp)
        assert [v.field for v in caught.value.field_violations] == [field]
        assert tx.get_packet_stats()["client_queued"] == 0


@pytest.mark.parametrize("kwargs, field", [
    (dict(direction=3), "direction"),
    (dict(direction="sideways"), "direction"),
    (dict(local_port=70000), "local_port"),
    (dict(capacity=0), "capacity"),
    (dict(on_full="drop"), "on_full"),
])
def test_invalid_constructor_arguments_raise_at_once(kwargs, field):
    args = dict(local_ip="127.0.0.1", local_port=0, daemon="/nonexistent/rtudp.sock")
    args.update(kwargs)
    with pytest.raises(rtudp.InvalidArgumentError) as caught:
        RtUdp(**args)
    assert caught.value.field_violations[0].field == field


def test_calls_that_do_not_fit_the_channel(daemon):
    tx = RtUdp("127.0.0.1", 0, "127.0.0.1", 9, direction=0, daemon=daemon.socket_path, priority=0)
    with pytest.raises(rtudp.ChannelStateError, match="init_socket"):
        tx.send_data(b"too early")
    with RtUdp("127.0.0.1", 0, direction=1, daemon=daemon.socket_path, priority=0) as rx:
        with pytest.raises(rtudp.ChannelStateError, match="receive-only"):
            rx.send_data(b"x")
        with pytest.raises(rtudp.ChannelStateError):
            rx.send_now([(b"x", None)])  # the daemon's FAILED_PRECONDITION
    tx.init_socket()
    with pytest.raises(rtudp.ChannelStateError, match="send-only"):
        tx.receive_data(timeout_ns=0)
    tx.close_socket()
    with pytest.raises(rtudp.AlreadyExistsError):
        with RtUdp("127.0.0.1", 0, direction=1, daemon=daemon.socket_path, channel_id="twice"):
            RtUdp("127.0.0.1", 0, direction=1, daemon=daemon.socket_path, channel_id="twice").init_socket()
