"""RtUdp: the original Python API (one UDP channel of rtudpd), unchanged, with what it left undefined defined.

    sender = RtUdp("127.0.0.1", 3043, "127.0.0.1", 8974, cpu=3, capacity=1000000, direction=0)  # 0 send, 1 receive, 2 both
    sender.init_socket(); sender.start()
    sender.send_data(b"Hello World", time.monotonic_ns() + 1000000)
    data, timestamp = receiver.receive_data(timeout_ns=100000)
    stats = sender.get_packet_stats()
    sender.stop(); sender.close_socket()

Defined here (the original left it open):
  * receive_data() on timeout returns (None, None), so that `data, timestamp = ...` always unpacks; test `data is None`.
  * send_data() with a time in the past: rtudpd sends the packet at once and counts it late (n_packets_late) when it
    is past by more than the channel's late tolerance (100 us by default); late_policy=LATE_POLICY_DROP drops it
    instead (counted in n_packets_dropped). Times are CLOCK_MONOTONIC ns of the daemon's host (time.monotonic_ns()
    on the same host; clock_ns() asks the daemon).
  * a second start() while running does nothing and returns False; start() after stop() starts the channel again.
  * init_socket() twice does nothing the second time; stop() and close_socket() are no-ops when already done.
"""

import time
from typing import Dict, Iterator, List, Optional, Tuple, Union

from rtudp import stats as stats_module
from rtudp._receiver import StreamReceiver
from rtudp._sender import StreamSender
from rtudp.client import Client, channel_name, histogram_kind
from rtudp._config import BOTH, MAX_UDP_PAYLOAD, RECEIVE, SEND, build_channel, check_int, checked_payload, checked_timestamp, new_channel_id
from rtudp.errors import ChannelStateError, invalid_argument
from rtudp.v1 import channel_pb2, generator_pb2, packet_pb2, stats_pb2

__all__ = ["RtUdp", "SEND", "RECEIVE", "BOTH"]

class RtUdp:
    """One channel of rtudpd: a UDP socket bound to local_ip:local_port, sending to remote_ip:remote_port.

    Original arguments: cpu pins the channel's workers (-1: unpinned), capacity is how many packets the send side
    holds queued, direction 0 send, 1 receive, 2 both. The rest are keyword-only:
      daemon           rtudpd's address (see Client) or a Client to share; None: the default unix socket
      channel_id       the channel's id ([a-z0-9._-], 1-63; default py-tx-PID-N)
      priority         SCHED_FIFO priority of the workers (0: SCHED_OTHER; default: the daemon's, 80)
      max_payload      largest payload (default 9000), late_policy, late_tolerance_ns: see channel.proto
      channel          a rtudp.v1.Channel with any other setting (the arguments above take precedence)
      queue_size       send_data's client-side queue, packets (default: 65536)
      on_full          "block" (default): send_data waits while the queue is full (up to block_timeout_s, then
                       QueueFullError); "raise": QueueFullError at once. Packets are never dropped silently.
      receive_buffer   packets held for receive_data before the client stops reading the stream (default 65536)
    """

    def __init__(self, local_ip: str, local_port: int, remote_ip: Optional[str] = None, remote_port: int = 0,
                 cpu: int = -1, capacity: int = 65536, direction: Union[int, str] = BOTH, *,
                 daemon: Union[None, str, Client] = None, channel_id: Optional[str] = None, priority: Optional[int] = None,
                 max_payload: Optional[int] = None, late_policy: Optional[int] = None, late_tolerance_ns: Optional[int] = None,
                 channel: Optional[channel_pb2.Channel] = None, queue_size: int = 65536, on_full: str = "block",
                 block_timeout_s: Optional[float] = None, receive_buffer: int = 65536) -> None:
        config = build_channel(local_ip, local_port, remote_ip, remote_port, cpu, capacity, direction, priority, max_payload,
                               late_policy, late_tolerance_ns, channel)
        check_int("queue_size", queue_size, 1, 1 << 30)
        check_int("receive_buffer", receive_buffer, 1, 1 << 30)
        if on_full not in ("block", "raise"):
            raise invalid_argument("on_full", f"{on_full!r} is not \"block\" or \"raise\"")
        self._owns_client = not isinstance(daemon, Client)
        self.client: Client = daemon if isinstance(daemon, Client) else Client(daemon)
        self._config = config
        self._id = channel_id or new_channel_id(config.direction)
        self._queue_size = queue_size
        self._on_full = on_full
        self._block_timeout_s = block_timeout_s
        self._receive_buffer = receive_buffer
        self._max_payload = MAX_UDP_PAYLOAD
        self.channel: Optional[channel_pb2.Channel] = None
        self._sender: Optional[StreamSender] = None
        self._receiver: Optional[StreamReceiver] = None
        self._running = False
        self._deleted = False
        self._received_before = 0

    # -- identity -----------------------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """"channels/ID"."""
        return channel_name(self._id)

    @property
    def local_port(self) -> int:
        """The port bound (the kernel's choice when 0 was asked); after init_socket()."""
        return self._created().bound_local.port

    @property
    def sends(self) -> bool:
        return self._config.direction != channel_pb2.CHANNEL_DIRECTION_RECEIVE

    @property
    def receives(self) -> bool:
        return self._config.direction != channel_pb2.CHANNEL_DIRECTION_SEND

    def _created(self) -> channel_pb2.Channel:
        if self.channel is None:
            raise ChannelStateError(f"{self.name}: call init_socket() first")
        if self._deleted:
            raise ChannelStateError(f"{self.name}: the socket was closed (close_socket())")
        return self.channel

    # -- the original lifecycle ---------------------------------------------------------------------------------

    def init_socket(self) -> channel_pb2.Channel:
        """Creates the channel in rtudpd (binds its socket); its workers run after start(). Packets sent before
        start() wait in the channel's ring. A second call returns the channel as it is."""
        if self.channel is not None and not self._deleted:
            return self.channel
        self.channel = self.client.create_channel(self._id, self._config, start=False)
        self._deleted = False
        if self.channel.HasField("max_payload"):
            self._max_payload = self.channel.max_payload
        return self.channel

    def start(self) -> bool:
        """Starts the channel's workers and opens its streams (ReceiveStream for receive_data, SendStream for
        send_data). Returns True; a second start() while running does nothing and returns False."""
        self._created()
        if self._running:
            return False
        self.channel = self.client.start_channel(self.name)
        self._running = True
        if self.receives and self._receiver is None:
            self._receiver = StreamReceiver(self.client, self.name, self._receive_buffer)
        if self.sends:
            self._ensure_sender().open()
        return True

    def stop(self, timeout_s: Optional[float] = 30.0) -> None:
        """Hands every packet send_data queued to rtudpd (flush()), then stops the channel's workers: packets still
        scheduled in the channel are dropped and counted (n_packets_dropped, tx_dropped_stopped); to let them leave
        first, wait_sent() before stop(). Raises a send failure not raised yet, after stopping. Packets received
        before stop() can still be read with receive_data() (the receive stream stays open until close_socket())."""
        if not self._running:
            return
        failure: Optional[BaseException] = None
        if self._sender is not None:
            try:
                self._sender.close(timeout_s)
            except Exception as e:  # noqa: BLE001 - raised after the channel is stopped
                failure = e
        self._running = False
        # The ReceiveStream stays open until close_socket(): it takes what the channel received before it stopped,
        # and a stream cancelled while its channel is stopped was seen to drain (and lose) the first packet
        # received after a restart.
        try:
            self.channel = self.client.stop_channel(self.name)
        except Exception:
            if failure is None:
                raise
        if failure is not None:
            raise failure

    def close_socket(self) -> Dict[str, int]:
        """Stops the channel if running and deletes it from rtudpd; returns its final counters (packets still
        queued are in dropped_stopped). Closes the connection when this object made it."""
        if self.channel is None or self._deleted:
            return {}
        try:
            self.stop()
        finally:
            if self._receiver is not None:
                self._receiver.close()
            final = self.client.delete_channel(self.name)
            self._deleted = True
            if self._owns_client:
                self.client.close()
        return final

    # -- sending ------------------------------------------------------------------------------------------------

    def _ensure_sender(self) -> StreamSender:
        if self._sender is None:
            self._sender = StreamSender(self.client, self.name, self._queue_size, self._on_full, self._block_timeout_s)
        return self._sender

    def send_data(self, data: Union[bytes, bytearray, memoryview], timestamp_ns: Optional[int] = None) -> None:
        """Queues data to leave at timestamp_ns (CLOCK_MONOTONIC ns of the daemon's host; None: as soon as possible).

        Cheap: the packet goes into a bounded client-side queue that one SendStream call drains in batches.
        An invalid argument raises InvalidArgumentError at once; a failure found later (the channel deleted,
        a time beyond the daemon's horizon, the daemon gone) raises on the next send_data(), flush() or stop().
        A full queue blocks or raises QueueFullError (on_full); nothing is dropped silently. A time in the past is
        sent at once and counted late (see the module's notes)."""
        sender = self._sender
        if sender is None or self.channel is None or self._deleted:
            if not self.sends:
                raise ChannelStateError(f"{self.name} is a receive-only channel (direction 1)")
            self._created()
            sender = self._ensure_sender()
        data = checked_payload(data, self._max_payload)
        timestamp_ns = checked_timestamp(timestamp_ns)
        sender.put(data, timestamp_ns)

    def flush(self, timeout_s: Optional[float] = None) -> None:
        """Waits until rtudpd has every packet send_data queued (enqueued in the channel), or raises why not."""
        if self._sender is not None:
            self._sender.flush(timeout_s)

    def send_now(self, packets: List[Tuple[bytes, Optional[int]]]) -> packet_pb2.SendResponse:
        """One unary Send of (data, timestamp_ns) pairs, validated as a whole: a full ring raises
        ResourceExhaustedError at once (metadata["accepted"]: how many went in) instead of waiting."""
        request = packet_pb2.SendRequest(channel=self.name)
        for data, timestamp_ns in packets:
            if timestamp_ns is None:
                request.packets.add(payload=bytes(data))
            else:
                request.packets.add(payload=bytes(data), monotonic_ns=timestamp_ns)
        return self.client.call(self.client.packets.Send, request)

    def wait_sent(self, timeout_s: float = 30.0) -> Dict[str, Union[int, float, bool, str]]:
        """flush(), then waits until the channel has nothing pending (every packet sent or dropped); returns the
        stats then. Raises TimeoutError when packets are still pending after timeout_s."""
        deadline = time.monotonic() + timeout_s
        self.flush(timeout_s)
        while True:
            stats = self.client.get_stats(self.name)
            if stats.tx.pending == 0 and stats.tx.balanced:
                return self.get_packet_stats()
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{self.name}: {stats.tx.pending} packets still pending after {timeout_s} s")
            time.sleep(0.002)

    # -- receiving ----------------------------------------------------------------------------------------------

    def _stream(self) -> StreamReceiver:
        if not self.receives:
            raise ChannelStateError(f"{self.name} is a send-only channel (direction 0)")
        if self._receiver is None:
            self._created()
            raise ChannelStateError(f"{self.name}: call start() first (receive_data reads the stream start() opens)")
        return self._receiver

    def receive_packet(self, timeout_ns: Optional[int] = None) -> Optional[packet_pb2.ReceivedPacket]:
        """The next received packet with everything rtudpd knows of it (source, kernel stamps, sequence), waiting
        up to timeout_ns (None: without limit; 0: only what is here); None on timeout."""
        if timeout_ns is not None:
            check_int("timeout_ns", timeout_ns, 0, 1 << 62)
        return self._stream().get(timeout_ns)

    def receive_data(self, timeout_ns: Optional[int] = None) -> Tuple[Optional[bytes], Optional[int]]:
        """(data, timestamp_ns): the next packet's payload and its best RX stamp (kernel or NIC) in CLOCK_MONOTONIC
        ns, waiting up to timeout_ns (None: without limit). On timeout: (None, None)."""
        packet = self.receive_packet(timeout_ns)
        if packet is None:
            return None, None
        return packet.payload, packet.monotonic_ns

    def packets(self, timeout_ns: Optional[int] = None) -> Iterator[packet_pb2.ReceivedPacket]:
        """Received packets as they come; ends when none comes within timeout_ns (None: never, until stop())."""
        while True:
            try:
                packet = self.receive_packet(timeout_ns)
            except ChannelStateError:
                if self._running:
                    raise
                return
            if packet is None:
                return
            yield packet

    def __iter__(self) -> Iterator[packet_pb2.ReceivedPacket]:
        return self.packets()

    # -- stats --------------------------------------------------------------------------------------------------

    def get_packet_stats(self) -> Dict[str, Union[int, float, bool, str]]:
        """The channel's counters and latency percentiles as a dict (keys and units: rtudp.stats). Includes the
        original's n_packets_sent and max_latency_ns."""
        self._created()
        stats = self.client.get_stats(self.name)
        histograms = self.client.get_histograms(self.name, stats_module.HISTOGRAM_KINDS, list(stats_module.PERCENTILES))
        out = stats_module.flatten(stats, histograms)
        sender, receiver = self._sender, self._receiver
        out["client_queued"] = sender.queued if sender else 0
        out["client_confirmed"] = sender.confirmed if sender else 0
        out["client_unconfirmed"] = sender.unconfirmed if sender else 0
        out["client_queue_length"] = sender.queue_length if sender else 0
        out["client_ring_full_waits"] = sender.ring_full_waits if sender else 0
        out["client_ring_full_waited_s"] = sender.ring_full_waited_s if sender else 0.0
        out["client_received"] = receiver.delivered if receiver else 0
        out["client_rx_buffered"] = receiver.buffered if receiver else 0
        return out

    def get_stats(self) -> stats_pb2.ChannelStats:
        """rtudpd's ChannelStats message as it is."""
        return self.client.get_stats(self.name)

    def histogram(self, kind: Union[int, str] = "SEND_ERROR", percentiles=()) -> stats_pb2.Histogram:
        """One latency histogram (buckets, percentiles, HdrHistogram encoding); kind by name or number."""
        return self.client.get_histogram(self.name, histogram_kind(kind), percentiles)

    def flows(self):
        """A sequenced channel's flows (rtudp.v1.FlowStats)."""
        return self.client.get_flows(self.name)

    def start_generator(self, spec: generator_pb2.GeneratorSpec, generator_id: str = "") -> generator_pb2.Generator:
        """Starts a packet generator on this sending channel (periodic, burst, Poisson or replay schedule: rtudpd makes
        and times the packets, no call per packet); client.get_generator/stop_generator take its name."""
        request = generator_pb2.StartGeneratorRequest(parent=self.name, generator_id=generator_id, spec=spec)
        return self.client.start_generator(request).generator

    def clock_ns(self) -> int:
        """The daemon host's CLOCK_MONOTONIC now, ns (the clock of send_data's timestamp_ns)."""
        return self.client.clock_ns()

    # -- context manager ----------------------------------------------------------------------------------------

    def __enter__(self) -> "RtUdp":
        self.init_socket()
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_socket()

    def __repr__(self) -> str:
        state = "deleted" if self._deleted else "running" if self._running else "created" if self.channel else "not created"
        return f"RtUdp({self.name}, {state})"
