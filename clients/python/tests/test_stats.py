"""get_packet_stats(): every counter, accounting field and histogram percentile rtudpd has, under the documented
names, with the values rtudpd's own messages give (no key is missing, none is made up)."""

from rtudp import RtUdp, stats as stats_module
from rtudp.v1 import stats_pb2

from conftest import wait_until

PACKETS = 50


def _expected_keys(raw: stats_pb2.ChannelStats) -> set:
    keys = set(raw.counters)
    for prefix, message in (("tx_", raw.tx), ("rx_", raw.rx), ("tx_network_", raw.tx_network), ("flow_", raw.flow_totals)):
        keys |= {prefix + f.name for f in message.DESCRIPTOR.fields}
    keys |= {"state", "read_monotonic_ns", "send_error_count", "send_error_max_ns", "delivery_count", "delivery_max_ns",
             "one_way_count", "jitter_count", "round_trip_count"}
    for kind in stats_pb2.HistogramKind.keys():
        if kind == "HISTOGRAM_KIND_UNSPECIFIED":
            continue
        name = kind[len("HISTOGRAM_KIND_"):].lower()
        keys |= {f"{name}_{s}" for s in ("p50_ns", "p90_ns", "p99_ns", "p99_9_ns", "p99_99_ns", "max_ns", "min_ns", "mean_ns", "count")}
    keys |= {"n_packets_sent", "n_packets_received", "n_packets_dropped", "n_packets_late", "max_latency_ns"}
    keys |= {"client_queued", "client_confirmed", "client_unconfirmed", "client_queue_length", "client_ring_full_waits",
             "client_ring_full_waited_s", "client_received", "client_rx_buffered"}
    return keys


def test_every_stats_key_is_there_with_rtudpds_values(daemon):
    with RtUdp("127.0.0.1", 0, direction=1, daemon=daemon.socket_path, priority=0) as rx, \
         RtUdp("127.0.0.1", 0, "127.0.0.1", rx.local_port, direction=0, daemon=daemon.socket_path, priority=0) as tx:
        first = tx.clock_ns() + 2_000_000
        for i in range(PACKETS):
            tx.send_data(b"stats %d" % i, first + i * 100_000)
        got = [rx.receive_data(timeout_ns=5_000_000_000)[0] for _ in range(PACKETS)]
        assert got == [b"stats %d" % i for i in range(PACKETS)]
        stats = tx.wait_sent(timeout_s=10)
        received = rx.get_packet_stats()
        raw = tx.get_stats()

    for s, channel_raw in ((stats, raw), (received, None)):
        expected = _expected_keys(channel_raw or raw)
        assert expected <= set(s), f"missing: {sorted(expected - set(s))}"
        for key, value in s.items():
            assert isinstance(value, (int, float, bool, str)), key

    # The original's keys mean what the module says.
    assert stats["n_packets_sent"] == PACKETS == raw.tx.sent == stats["tx_sent"] == stats["sent"]
    assert stats["n_packets_dropped"] == 0 and stats["tx_balanced"] is True
    assert stats["max_latency_ns"] == raw.send_error_max_ns == stats["send_error_max_ns"] > 0
    assert stats["send_error_count"] == PACKETS
    assert stats["send_error_min_ns"] <= stats["send_error_p50_ns"] <= stats["send_error_p99_ns"] <= stats["max_latency_ns"]
    assert stats["client_queued"] == stats["client_confirmed"] == PACKETS and stats["client_unconfirmed"] == 0
    # Every engine counter, as GetStats gives it.
    for name, value in raw.counters.items():
        assert stats[name] == value, name
    assert received["n_packets_received"] == PACKETS == received["rx_received"] == received["client_received"]
    assert received["delivery_count"] == PACKETS and received["delivery_p50_ns"] > 0
    assert received["state"] == "CHANNEL_STATE_RUNNING"


def test_the_stats_keys_are_documented():
    doc = stats_module.__doc__
    for key in ("n_packets_sent", "max_latency_ns", "n_packets_received", "n_packets_dropped", "n_packets_late",
                "tx_<field>", "rx_<field>", "tx_network_<field>", "flow_<field>", "client_queued", "client_received",
                "_p50_ns", "_p99_99_ns", "_max_ns", "_count", "send_errno_<n>", "nanoseconds"):
        assert key in doc, key
    for kind in stats_module.HISTOGRAM_KINDS.values():
        assert kind in doc, kind
