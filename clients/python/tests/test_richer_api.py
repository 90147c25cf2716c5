"""Beyond the original: context manager, iteration, TCP, histograms, sequenced flows, generators."""

import time

import rtudp
from rtudp import Client, RtUdp
from rtudp.v1 import channel_pb2, generator_pb2

from conftest import wait_until


def test_iteration_yields_each_packet_with_its_source_and_stamps(daemon):
    with RtUdp("127.0.0.1", 0, direction=1, daemon=daemon.socket_path, priority=0) as rx, \
         RtUdp("127.0.0.1", 0, "127.0.0.1", rx.local_port, direction=0, daemon=daemon.socket_path, priority=0) as tx:
        for i in range(20):
            tx.send_data(b"it %d" % i)
        got = []
        for packet in rx:
            got.append(packet)
            if len(got) == 20:
                break
        assert [p.payload for p in got] == [b"it %d" % i for i in range(20)]
        assert all(p.source.port == tx.local_port and p.source.address == "127.0.0.1" and p.monotonic_ns > 0 for p in got)
        assert list(rx.packets(timeout_ns=10_000_000)) == []  # nothing more: the iteration ends at the timeout
    assert rx.close_socket() == {} and repr(rx).endswith("deleted)")


def test_the_context_manager_deletes_the_channel_even_on_an_error(daemon):
    client = Client(daemon.socket_path)
    try:
        with RtUdp("127.0.0.1", 0, direction=1, daemon=daemon.socket_path, channel_id="ctx-error") as rx:
            assert client.get_channel(rx.name).state == channel_pb2.CHANNEL_STATE_RUNNING
            raise KeyError("boom")
    except KeyError:
        pass
    assert "channels/ctx-error" not in [c.name for c in client.list_channels()]


def test_tcp_address(daemon):
    with RtUdp("127.0.0.1", 0, direction=1, daemon=daemon.tcp_address, priority=0) as rx, \
         RtUdp("127.0.0.1", 0, "127.0.0.1", rx.local_port, direction=0, daemon=daemon.tcp_address, priority=0) as tx:
        assert rx.client.address.host_port == daemon.tcp_address[len("http://"):] and not rx.client.address.tls
        tx.send_data(b"over tcp", tx.clock_ns() + 1_000_000)
        assert rx.receive_data(timeout_ns=5_000_000_000)[0] == b"over tcp"


def test_addresses_parse_as_rtudpctls():
    assert rtudp.parse_address("/run/rtudp/rtudp.sock").socket_path == "/run/rtudp/rtudp.sock"
    assert rtudp.parse_address("unix:/tmp/x.sock").grpc_target == "unix:/tmp/x.sock"
    assert rtudp.parse_address("https://host:50051") == rtudp.DaemonAddress(host_port="host:50051", tls=True)
    assert rtudp.parse_address("http://[::1]:50051").grpc_target == "[::1]:50051"
    try:
        rtudp.parse_address("ftp://host:1")
        raise AssertionError("ftp:// accepted")
    except ValueError:
        pass


def test_histograms_and_sequenced_flows(daemon):
    sequenced = channel_pb2.Channel(flags=[channel_pb2.CHANNEL_FLAG_SEQUENCED], flow_id=7)
    with RtUdp("127.0.0.1", 0, direction=1, daemon=daemon.socket_path, priority=0, channel=sequenced) as rx, \
         RtUdp("127.0.0.1", 0, "127.0.0.1", rx.local_port, direction=0, daemon=daemon.socket_path, priority=0, channel=sequenced) as tx:
        first = tx.clock_ns() + 1_000_000
        for i in range(30):
            tx.send_data(bytes(64), first + i * 100_000)
        received = []
        for packet in rx.packets(timeout_ns=2_000_000_000):
            received.append(packet)
            if len(received) == 30:
                break
        assert len(received) == 30
        flows = wait_until(lambda: [f for f in rx.flows() if f.unique == 30], 5, "a flow of 30 packets")
        assert flows[0].flow_id == 7 and flows[0].lost == 0
        tx.wait_sent(10)
        histogram = tx.histogram("SEND_ERROR", [50, 99])
        assert histogram.total_count == 30 and [q.percentile for q in histogram.percentiles] == [50, 99]
        assert histogram.max_ns == tx.get_packet_stats()["max_latency_ns"]
        assert rx.histogram("ONE_WAY").total_count == 30


def test_a_generator_sends_its_schedule(daemon):
    with RtUdp("127.0.0.1", 0, direction=1, daemon=daemon.socket_path, priority=0) as rx, \
         RtUdp("127.0.0.1", 0, "127.0.0.1", rx.local_port, direction=0, daemon=daemon.socket_path, priority=0) as tx:
        spec = generator_pb2.GeneratorSpec(periodic=generator_pb2.PeriodicSchedule(), count=25, payload=generator_pb2.PayloadSpec(size=32))
        spec.periodic.period.FromNanoseconds(1_000_000)
        spec.start_delay.FromNanoseconds(10_000_000)
        generator = tx.start_generator(spec, "periodic")
        assert generator.name == tx.name + "/generators/periodic"
        got = [rx.receive_data(timeout_ns=5_000_000_000)[0] for _ in range(25)]
        assert all(data is not None and len(data) == 32 for data in got)
        done = wait_until(lambda: (g := tx.client.get_generator(generator.name).generator).state == generator_pb2.GENERATOR_STATE_COMPLETED and g,
                          10, "the generator completed")
        assert done.counters.enqueued == 25
        assert [g.name for g in tx.client.list_generators().generators if g.name == generator.name] == [generator.name]


def test_a_coalesced_datagram_comes_back_as_its_packets_flagged_coalesced(daemon):
    """A UDP GSO train (three segments of 100 bytes and a last of 40) from a plain socket reaches a channel with
    gro on uncut over loopback; receive_packet gives its four packets in order, each flagged coalesced, with the
    datagram's one stamp."""
    import socket
    SOL_UDP, UDP_SEGMENT = 17, 103
    gro_on = channel_pb2.Channel(gro=channel_pb2.GRO_MODE_ON)
    with RtUdp("127.0.0.1", 0, direction=1, daemon=daemon.socket_path, priority=0, channel=gro_on) as rx, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        assert rx.channel.mode.gro, rx.channel.mode
        segments = [bytes([i]) * 100 for i in range(3)] + [b"z" * 40]
        sender.setsockopt(SOL_UDP, UDP_SEGMENT, 100)
        sender.sendto(b"".join(segments), ("127.0.0.1", rx.local_port))
        got = [rx.receive_packet(timeout_ns=5_000_000_000) for _ in segments]
        assert None not in got, got
        assert [p.payload for p in got] == segments
        assert all(p.coalesced for p in got), got
        assert len({p.monotonic_ns for p in got}) == 1, [p.monotonic_ns for p in got]
