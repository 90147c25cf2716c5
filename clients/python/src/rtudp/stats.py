"""get_packet_stats()'s dict: the original's keys, every counter rtudpd keeps, and every histogram's percentiles.

Units: keys ending in _ns are nanoseconds, _s seconds; every other value is a count (of packets unless its name
says otherwise), except "state" (a ChannelState name) and the *_balanced flags (bool).

Original keys:
  n_packets_sent       packets the channel sent (handed to the kernel), late ones included (tx_sent)
  n_packets_received   datagrams the channel received (rx_received)
  n_packets_dropped    packets not sent: dropped late, by a send error or at stop (tx_dropped_*)
  n_packets_late       packets sent later than the late tolerance after their time (tx_late)
  max_latency_ns       the largest send error: actual send time (best stamp) minus scheduled time (send_error_max_ns)
Daemon keys:
  every entry of ChannelStats.counters (the engine's counters by snake_case name: enqueued, sent, send_calls, ...)
  tx_<field>           TxAccounting: enqueued = sent + dropped_late + dropped_error + dropped_stopped + pending
  rx_<field>           RxAccounting: received = drained + dropped_overflow + dropped_truncated + buffered
  tx_network_<field>   TxNetworkErrors (ICMP errors by kind, resends, path_mtu in bytes)
  flow_<field>         FlowAccounting of a sequenced channel (totals over its flows)
  send_error_count, send_error_max_ns, delivery_count, delivery_max_ns, one_way_count, jitter_count, round_trip_count
  send_errno_<n>, receive_errno_<n>   socket errors by errno
  <kind>_p50_ns, _p90_ns, _p99_ns, _p99_9_ns, _p99_99_ns, _max_ns, _min_ns, _mean_ns, _count   for each histogram
      kind (send_error, delivery, stage_wake, stage_send_call, stage_sched, stage_software, stage_hardware,
      one_way, jitter, round_trip); 0 while it has no samples
Client keys:
  client_queued, client_confirmed, client_unconfirmed, client_queue_length   send_data's packets: queued, confirmed
      enqueued by rtudpd (when a stream ends: flush(), stop()), not yet confirmed, waiting in the client's queue
  client_ring_full_waits, client_ring_full_waited_s   how often/long rtudpd held the stream for ring space
  client_received, client_rx_buffered                 packets handed to receive_data/iteration, waiting in the client
  (the client_* keys count both data paths together; on the shm path "confirmed" means taken from the ring by the engine)
Transport keys (RtUdp):
  transport            "shm" (librtudp's shared-memory rings) or "grpc": the data path in use
  shm_tx_accepted, shm_tx_malformed, shm_tx_throttled, shm_tx_dropped_detach, shm_rx_delivered, shm_rx_unread_detach,
  shm_faults           the attachment's counters (rtudp_stats; records, i.e. packets); 0 on the gRPC path
  shm_tx_ring_used_bytes, shm_tx_ring_capacity, shm_rx_ring_used_bytes, shm_rx_ring_capacity   its rings, bytes
  shm_state (1 attached, 2 detached, 3 faulted, 4 reattaching), shm_engine_epoch, shm_channel_id, shm_client_id,
  shm_max_payload      after stop(), as read just before the detach
"""

from typing import Dict, Union

from rtudp.v1 import channel_pb2, stats_pb2

Value = Union[int, float, bool, str]

#: The percentiles asked of every histogram, and the key suffix each gets.
PERCENTILES = {50.0: "p50", 90.0: "p90", 99.0: "p99", 99.9: "p99_9", 99.99: "p99_99"}

#: Every histogram kind (HISTOGRAM_KIND_SEND_ERROR -> "send_error").
HISTOGRAM_KINDS = {number: name[len("HISTOGRAM_KIND_"):].lower()
                   for name, number in stats_pb2.HistogramKind.items() if number != stats_pb2.HISTOGRAM_KIND_UNSPECIFIED}


def _fields(prefix: str, message) -> Dict[str, Value]:
    return {prefix + field.name: getattr(message, field.name) for field in message.DESCRIPTOR.fields}


def flatten(stats: stats_pb2.ChannelStats, histograms: Dict[int, stats_pb2.Histogram]) -> Dict[str, Value]:
    """The dict for one ChannelStats snapshot and its histograms (by HistogramKind)."""
    out: Dict[str, Value] = dict(stats.counters)
    out["state"] = channel_pb2.ChannelState.Name(stats.state)
    out["read_monotonic_ns"] = stats.read_monotonic_ns
    out.update(_fields("tx_", stats.tx))
    out.update(_fields("rx_", stats.rx))
    out.update(_fields("tx_network_", stats.tx_network))
    out.update(_fields("flow_", stats.flow_totals))
    for name in ("send_error_count", "send_error_max_ns", "delivery_count", "delivery_max_ns", "one_way_count", "jitter_count", "round_trip_count"):
        out[name] = getattr(stats, name)
    for errno, count in stats.send_errnos.items():
        out[f"send_errno_{errno}"] = count
    for errno, count in stats.receive_errnos.items():
        out[f"receive_errno_{errno}"] = count
    for kind, name in HISTOGRAM_KINDS.items():
        histogram = histograms.get(kind)
        values = {q.percentile: q.value_ns for q in histogram.percentiles} if histogram is not None else {}
        for percentile, suffix in PERCENTILES.items():
            out[f"{name}_{suffix}_ns"] = values.get(percentile, 0)
        out[f"{name}_max_ns"] = histogram.max_ns if histogram is not None else 0
        out[f"{name}_min_ns"] = histogram.min_ns if histogram is not None else 0
        out[f"{name}_mean_ns"] = histogram.mean_ns if histogram is not None else 0.0
        out[f"{name}_count"] = histogram.total_count if histogram is not None else 0
    # The original's keys, last so that they are what they say whatever the daemon names its counters.
    out["n_packets_sent"] = stats.tx.sent
    out["n_packets_received"] = stats.rx.received
    out["n_packets_dropped"] = stats.tx.dropped_late + stats.tx.dropped_error + stats.tx.dropped_stopped
    out["n_packets_late"] = stats.tx.late
    out["max_latency_ns"] = stats.send_error_max_ns
    return out
