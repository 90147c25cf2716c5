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

The data path (transport): channels are always created, started, stopped and deleted over gRPC. While a channel
runs, its packets go through librtudp's shared-memory rings when rtudpd is on this host ("shm": a unix socket
address, librtudp loadable, rtudpd's shared-memory socket present), else over gRPC streams ("grpc"). `transport`
and `transport_reason` say which and why; `transport=` or $RTUDP_TRANSPORT chooses ("auto", "shm", "grpc").
"""

import collections
import os
import time
from typing import Deque, Dict, Iterator, List, Optional, Tuple, Union

from rtudp import _shm
from rtudp import stats as stats_module
from rtudp._receiver import StreamReceiver
from rtudp._sender import StreamSender
from rtudp.client import Client, channel_name, histogram_kind
from rtudp._config import BOTH, MAX_UDP_PAYLOAD, RECEIVE, SEND, build_channel, check_int, checked_payload, checked_timestamp, new_channel_id
from rtudp.errors import ChannelStateError, NotFoundError, RtUdpError, ShmUnavailableError, invalid_argument
from rtudp.v1 import channel_pb2, generator_pb2, packet_pb2, stats_pb2

__all__ = ["RtUdp", "SEND", "RECEIVE", "BOTH", "TRANSPORTS", "TRANSPORT_VARIABLE"]

#: The data paths RtUdp(transport=...) and $RTUDP_TRANSPORT accept.
TRANSPORTS = ("auto", "shm", "grpc")
TRANSPORT_VARIABLE = "RTUDP_TRANSPORT"
#: The shared-memory attachment's counters in get_packet_stats() (prefixed "shm_"); 0 on the gRPC path.
SHM_STATS = ("tx_accepted", "tx_malformed", "tx_throttled", "tx_dropped_detach", "rx_delivered", "rx_unread_detach", "faults",
             "tx_ring_used_bytes", "tx_ring_capacity", "rx_ring_used_bytes", "rx_ring_capacity", "state", "engine_epoch",
             "channel_id", "client_id", "max_payload")


def choose_transport(requested: str, client: Client):
    """(transport, reason, library, broker socket) for `requested` ("auto", "shm" or "grpc") and rtudpd at client.address.
    "shm" that cannot be had raises ShmUnavailableError saying why."""
    if requested == "grpc":
        return "grpc", "gRPC was asked (transport=\"grpc\" or $RTUDP_TRANSPORT=grpc)", None, None
    why_not = None
    library = socket_path = None
    address = client.address
    if not address.socket_path:
        why_not = f"rtudpd is at {address}, not at a unix socket on this host"
    else:
        loaded = _shm.load()
        library = loaded.library
        if library is None:
            why_not = loaded.reason
        else:
            socket_path = _shm.broker_socket(address.socket_path)
            if not os.path.exists(socket_path):
                why_not = f"rtudpd's shared-memory socket {socket_path} does not exist (rtudpd without Listen:ShmSocket, or not running)"
    if why_not is not None:
        if requested == "shm":
            raise ShmUnavailableError(f"transport=\"shm\" is not possible: {why_not}", reason="SHM_UNAVAILABLE")
        return "grpc", f"auto: {why_not}; using gRPC", None, None
    return "shm", f"{requested}: rtudpd on this host, {loaded.reason}, broker {socket_path}", library, socket_path


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
      transport        the data path while the channel runs: "shm" (librtudp's shared-memory rings; an error when not
                       possible), "grpc" (gRPC streams), or "auto" (shm on the daemon's host when librtudp and rtudpd's
                       shared-memory socket are there, else grpc). Default: $RTUDP_TRANSPORT, else "auto".
                       `transport` and `transport_reason` say which is in use and why.
    """

    def __init__(self, local_ip: str, local_port: int, remote_ip: Optional[str] = None, remote_port: int = 0,
                 cpu: int = -1, capacity: int = 65536, direction: Union[int, str] = BOTH, *,
                 daemon: Union[None, str, Client] = None, channel_id: Optional[str] = None, priority: Optional[int] = None,
                 max_payload: Optional[int] = None, late_policy: Optional[int] = None, late_tolerance_ns: Optional[int] = None,
                 channel: Optional[channel_pb2.Channel] = None, queue_size: int = 65536, on_full: str = "block",
                 block_timeout_s: Optional[float] = None, receive_buffer: int = 65536, transport: Optional[str] = None) -> None:
        config = build_channel(local_ip, local_port, remote_ip, remote_port, cpu, capacity, direction, priority, max_payload,
                               late_policy, late_tolerance_ns, channel)
        check_int("queue_size", queue_size, 1, 1 << 30)
        check_int("receive_buffer", receive_buffer, 1, 1 << 30)
        if on_full not in ("block", "raise"):
            raise invalid_argument("on_full", f"{on_full!r} is not \"block\" or \"raise\"")
        requested = transport if transport is not None else (os.environ.get(TRANSPORT_VARIABLE) or "auto")
        if requested not in TRANSPORTS:
            source = "transport" if transport is not None else f"${TRANSPORT_VARIABLE}"
            raise invalid_argument("transport", f"{source}={requested!r} is not \"auto\", \"shm\" or \"grpc\"")
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
        self._transport_requested = requested
        try:
            chosen = choose_transport(requested, self.client)
        except ShmUnavailableError:
            if self._owns_client:
                self.client.close()
            raise
        #: The data path: "shm" (librtudp's rings, while the channel runs) or "grpc"; transport_reason says why.
        self.transport: str = chosen[0]
        self.transport_reason: str = chosen[1]
        self._shm_library: Optional[_shm.Library] = chosen[2]
        self._shm_socket: Optional[str] = chosen[3]
        self._shm: Optional[_shm.Attachment] = None
        self._shm_send = None   # the attachment's send while attached and sending: send_data's fast path
        self._shm_rx: Optional[_shm.Attachment] = None
        self._shm_done: List[_shm.Attachment] = []
        #: Packets the channel received through the ring before stop() detached it, still to be read.
        self._shm_backlog: Deque[Tuple[bytes, _shm.rtudp_rx_info]] = collections.deque()
        self._shm_delivered = 0

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
        if self.transport == "shm":
            self._attach()
        if self.transport == "grpc":
            if self.receives and self._receiver is None:
                self._receiver = StreamReceiver(self.client, self.name, self._receive_buffer)
            if self.sends:
                self._ensure_sender().open()
        return True

    def _attach(self) -> None:
        """Attaches to the running channel through librtudp. Packets send_data queued over gRPC before (before start(),
        or while stopped) are handed to rtudpd first, so that they keep their order. With transport "auto", an
        attachment refused (per-user limit, permission, ...) falls back to gRPC, saying why in transport_reason."""
        assert self._shm_library is not None and self._shm_socket is not None
        if self._sender is not None and self._sender.queued > self._sender.confirmed:
            self._sender.flush(30.0)
        flags = (_shm.RTUDP_ATTACH_SEND if self.sends else 0) | (_shm.RTUDP_ATTACH_RECEIVE if self.receives else 0)
        try:
            attachment = _shm.Attachment(self._shm_library, self._shm_socket, self._id, flags, self._on_full,
                                         self._block_timeout_s, self._explain_detached)
        except RtUdpError as e:
            if self._transport_requested == "shm":
                raise
            self.transport = "grpc"
            self.transport_reason = f"auto: librtudp could not attach to {self.name} ({e}); using gRPC"
            return
        self._shm = attachment
        self._shm_rx = attachment if self.receives else None
        self._shm_send = attachment.send if self.sends else None

    def _explain_detached(self, error: RtUdpError) -> RtUdpError:
        """The attachment ended under a send or receive (RTUDP_E_DETACHED): a deleted channel is NotFoundError, as on
        the gRPC path; otherwise (engine restart failed, ...) the library's ChannelStateError."""
        try:
            self.client.get_channel(self.name)
        except NotFoundError as gone:
            gone.args = (f"{gone.args[0]} ({error})",)
            return gone
        except RtUdpError:
            pass
        return error

    def _detach(self) -> Optional[RtUdpError]:
        """Detaches from the ring (stop()): what the ring holds is sent or dropped per the channel's client_exit
        policy; packets received and not read yet are kept for receive_data. Returns a detach failure, if any."""
        attachment = self._shm
        if attachment is None:
            return None
        self._shm_send = None
        self._shm_rx = None
        if self.receives:
            try:  # at most receive_buffer packets, as the gRPC path's buffer holds; the rest is counted (rx_unread_detach)
                while len(self._shm_backlog) < self._receive_buffer and (got := attachment.receive(0)) is not None:
                    self._shm_backlog.append((got[0], _shm.rtudp_rx_info.from_buffer_copy(got[1])))
            except RtUdpError:
                pass  # detached or faulted meanwhile: the daemon counts what was left (rx_unread_detach)
        failure = attachment.detach()
        self._shm = None
        self._shm_done.append(attachment)
        return failure

    def stop(self, timeout_s: Optional[float] = 30.0) -> None:
        """Hands every packet send_data queued to rtudpd (flush()), then stops the channel's workers: packets still
        scheduled in the channel are dropped and counted (n_packets_dropped, tx_dropped_stopped); to let them leave
        first, wait_sent() before stop(). Raises a send failure not raised yet, after stopping. Packets received
        before stop() can still be read with receive_data() (the receive stream stays open until close_socket())."""
        if not self._running:
            return
        failure: Optional[BaseException] = self._detach()
        if self._sender is not None:
            try:
                self._sender.close(timeout_s)
            except Exception as e:  # noqa: BLE001 - raised after the channel is stopped
                failure = failure or e
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
            self._shm_backlog.clear()
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
        shm_send = self._shm_send
        if shm_send is not None:
            shm_send(data, timestamp_ns)
            return
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
        """Waits until rtudpd has every packet send_data queued (enqueued in the channel; on the shm path: taken from
        the ring by the engine), or raises why not."""
        if self._sender is not None:
            self._sender.flush(timeout_s)
        attachment = self._shm
        if attachment is not None and self.sends:
            attachment.wait_taken(timeout_s)

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
        if self.transport == "shm":
            got = self._shm_receive(timeout_ns)
            return None if got is None else _shm.received_packet(got[0], got[1])
        return self._stream().get(timeout_ns)

    def _shm_receive(self, timeout_ns: Optional[int]):
        if self._shm_backlog:
            self._shm_delivered += 1
            return self._shm_backlog.popleft()
        attachment = self._shm_rx
        if attachment is None:
            if not self.receives:
                raise ChannelStateError(f"{self.name} is a send-only channel (direction 0)")
            self._created()
            raise ChannelStateError(f"{self.name} is not running: call start() first (receive_data reads the channel's"
                                    " shared-memory ring while it runs; nothing received before stop() is left to read)")
        got = attachment.receive(timeout_ns)
        if got is not None:
            self._shm_delivered += 1
        return got

    def receive_data(self, timeout_ns: Optional[int] = None) -> Tuple[Optional[bytes], Optional[int]]:
        """(data, timestamp_ns): the next packet's payload and its best RX stamp (kernel or NIC) in CLOCK_MONOTONIC
        ns, waiting up to timeout_ns (None: without limit). On timeout: (None, None)."""
        if self.transport == "shm":
            if timeout_ns is not None and (type(timeout_ns) is not int or not 0 <= timeout_ns <= 1 << 62):
                check_int("timeout_ns", timeout_ns, 0, 1 << 62)
            got = self._shm_receive(timeout_ns)
            if got is None:
                return None, None
            return got[0], got[1].best_monotonic_ns
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
        # The shared-memory path: packets written into the ring, those the engine took (an attachment that ended
        # was drained or dropped by rtudpd, which counts them), the last attachment's own counters.
        attachment = self._shm or (self._shm_done[-1] if self._shm_done else None)
        shm = attachment.stats() if attachment is not None else {}
        current = self._shm
        shm_sent = sum(a.sent for a in self._shm_done) + (current.sent if current else 0)
        shm_taken = sum(a.sent for a in self._shm_done) + (min(current.sent, shm.get("tx_accepted", 0) + shm.get("tx_malformed", 0))
                                                           if current else 0)
        attachments = self._shm_done + ([current] if current else [])
        queued = (sender.queued if sender else 0) + shm_sent
        confirmed = (sender.confirmed if sender else 0) + shm_taken
        out["client_queued"] = queued
        out["client_confirmed"] = confirmed
        out["client_unconfirmed"] = queued - confirmed
        out["client_queue_length"] = sender.queue_length if sender else 0
        out["client_ring_full_waits"] = (sender.ring_full_waits if sender else 0) + sum(a.full_waits for a in attachments)
        out["client_ring_full_waited_s"] = (sender.ring_full_waited_s if sender else 0.0) + sum(a.full_waited_s for a in attachments)
        out["client_received"] = (receiver.delivered if receiver else 0) + self._shm_delivered
        out["client_rx_buffered"] = (receiver.buffered if receiver else 0) + len(self._shm_backlog)
        for name in SHM_STATS:
            out["shm_" + name] = shm.get(name, 0)
        out["transport"] = self.transport
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
        return f"RtUdp({self.name}, transport={self.transport}, {state})"
