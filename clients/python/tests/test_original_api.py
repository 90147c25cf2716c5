"""The original API's example, verbatim apart from addresses, ports and CPUs (this machine may have 2), against a
real rtudpd found as the default daemon ($RTUDP_SOCKET)."""

import os
import time

from conftest import free_udp_port, wait_until


def test_the_original_example_runs_unchanged(default_socket):
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
    stats = sender.get_packet_stats()          # a dict: at least 'n_packets_sent' and 'max_latency_ns'
    # --- (before stop: the packet is due 1 ms after the call and the receive waited 0.1 ms) ---

    if data is None:  # the documented timeout result; the packet comes later
        assert timestamp is None
        data, timestamp = receiver.receive_data(timeout_ns=5_000_000_000)
    assert data == b"Hello World"
    assert timestamp >= timestamp_ns, "received before its time"
    stats = wait_until(lambda: (s := sender.get_packet_stats())["n_packets_sent"] == 1 and s, 5, "packet counted sent")
    assert stats["max_latency_ns"] == stats["send_error_max_ns"] and stats["max_latency_ns"] > 0
    assert isinstance(stats, dict)

    sender.stop(); receiver.stop(); sender.close_socket(); receiver.close_socket()


def test_a_time_in_the_past_is_sent_at_once_and_counted_late(daemon):
    from rtudp import RtUdp
    with RtUdp("127.0.0.1", 0, direction=1, daemon=daemon.socket_path, priority=0) as rx, \
         RtUdp("127.0.0.1", 0, "127.0.0.1", rx.local_port, direction=0, daemon=daemon.socket_path, priority=0) as tx:
        past = time.monotonic_ns() - 50_000_000
        tx.send_data(b"late", past)
        data, stamp = rx.receive_data(timeout_ns=5_000_000_000)
        assert data == b"late" and stamp - past >= 50_000_000
        stats = tx.wait_sent(timeout_s=5)
        assert stats["n_packets_sent"] == 1 and stats["n_packets_late"] == 1 and stats["n_packets_dropped"] == 0
        assert stats["max_latency_ns"] >= 50_000_000


def test_receive_data_on_timeout_returns_none_none_after_the_timeout(daemon):
    from rtudp import RtUdp
    with RtUdp("127.0.0.1", 0, direction=1, daemon=daemon.socket_path, priority=0) as rx:
        began = time.monotonic_ns()
        assert rx.receive_data(timeout_ns=20_000_000) == (None, None)
        assert time.monotonic_ns() - began >= 20_000_000
        assert rx.receive_data(timeout_ns=0) == (None, None)


def test_a_second_start_does_nothing_and_start_after_stop_starts_again(daemon):
    from rtudp import RtUdp
    rx = RtUdp("127.0.0.1", 0, direction=1, daemon=daemon.socket_path, priority=0)
    rx.init_socket()
    tx = RtUdp("127.0.0.1", 0, "127.0.0.1", rx.local_port, direction=0, daemon=daemon.socket_path, priority=0)
    tx.init_socket()
    assert rx.init_socket() is rx.channel  # a second init_socket does nothing
    assert rx.start() is True and tx.start() is True
    assert rx.start() is False and tx.start() is False
    from rtudp.v1 import channel_pb2
    assert tx.client.get_channel(tx.name).state == channel_pb2.CHANNEL_STATE_RUNNING
    tx.send_data(b"one")
    assert rx.receive_data(timeout_ns=5_000_000_000)[0] == b"one"
    tx.stop(); rx.stop()
    tx.stop()  # a second stop does nothing
    assert tx.client.get_channel(tx.name).state == channel_pb2.CHANNEL_STATE_STOPPED
    assert rx.start() is True and tx.start() is True
    tx.send_data(b"two")
    assert rx.receive_data(timeout_ns=5_000_000_000)[0] == b"two"
    for c in (tx, rx):
        c.stop(); c.close_socket()
        assert c.close_socket() == {}
