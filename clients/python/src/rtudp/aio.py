"""The asyncio flavour (grpc.aio): AsyncClient and AsyncRtUdp, the same API with coroutines.

    async with AsyncRtUdp("127.0.0.1", 0, direction=1) as rx, AsyncRtUdp("127.0.0.1", 0, "127.0.0.1", rx.local_port, direction=0) as tx:
        await tx.send_data(b"hello", time.monotonic_ns() + 1_000_000)
        data, timestamp_ns = await rx.receive_data(timeout_ns=1_000_000_000)
        async for packet in rx: ...

Same semantics as RtUdp (rtudp.channel): send_data puts the packet in a bounded queue that one SendStream call
drains in batches (on_full "block" awaits space, up to block_timeout_s; "raise" raises QueueFullError); a
stream failure raises on the next send_data, flush() and stop(); receive_data returns (None, None) on timeout.
"""

import asyncio
import os
import time
from typing import AsyncIterator, Dict, List, Optional, Tuple, Union

import grpc
import grpc.aio

from rtudp import stats as stats_module
from rtudp._config import BOTH, MAX_UDP_PAYLOAD, build_channel, check_int, checked_payload, checked_timestamp, new_channel_id
from rtudp.address import DaemonAddress, parse_address
from rtudp.client import DEFAULT_CALL_TIMEOUT_S, _MAX_MESSAGE_BYTES, _read, channel_name
from rtudp.errors import ChannelStateError, QueueFullError, RtUdpError, from_rpc_error, invalid_argument
from rtudp.v1 import (channel_pb2, channel_pb2_grpc, clock_pb2, clock_pb2_grpc, packet_pb2, packet_pb2_grpc, stats_pb2,
                      stats_pb2_grpc)

__all__ = ["AsyncClient", "AsyncRtUdp"]

_BATCH_PACKETS = 1024
_END = object()  # flush(): the stream's request generator ends here


class AsyncClient:
    """rtudpd over grpc.aio; address, TLS files and errors as rtudp.Client. Stubs: channels, packets, stats, clock."""

    def __init__(self, address: Optional[str] = None, *, ca: Optional[str] = None, cert: Optional[str] = None,
                 key: Optional[str] = None, call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S) -> None:
        self.address: DaemonAddress = parse_address(address)
        self.call_timeout_s = call_timeout_s
        options = [("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES), ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES)]
        if self.address.tls:
            credentials = grpc.ssl_channel_credentials(root_certificates=_read(ca), private_key=_read(key or cert), certificate_chain=_read(cert))
            self.grpc_channel = grpc.aio.secure_channel(self.address.grpc_target, credentials, options)
        else:
            if ca or cert or key:
                raise ValueError(f"TLS files were given but {self.address} is not an https:// address")
            self.grpc_channel = grpc.aio.insecure_channel(self.address.grpc_target, options)
        self.channels = channel_pb2_grpc.ChannelServiceStub(self.grpc_channel)
        self.packets = packet_pb2_grpc.PacketServiceStub(self.grpc_channel)
        self.stats = stats_pb2_grpc.StatsServiceStub(self.grpc_channel)
        self.clock = clock_pb2_grpc.ClockServiceStub(self.grpc_channel)

    def translate(self, error: grpc.RpcError) -> RtUdpError:
        exists = os.path.exists(self.address.socket_path) if self.address.socket_path else None
        return from_rpc_error(error, str(self.address), exists)

    async def call(self, method, request, timeout_s: Optional[float] = None):
        try:
            return await method(request, timeout=self.call_timeout_s if timeout_s is None else timeout_s)
        except grpc.RpcError as e:
            raise self.translate(e) from None

    async def clock_ns(self) -> int:
        return (await self.call(self.clock.GetClock, clock_pb2.GetClockRequest())).monotonic_ns

    async def get_stats(self, channel: str) -> stats_pb2.ChannelStats:
        return (await self.call(self.stats.GetStats, stats_pb2.GetStatsRequest(name=channel_name(channel)))).stats

    async def get_histograms(self, channel: str, kinds, percentiles) -> Dict[int, stats_pb2.Histogram]:
        name = channel_name(channel)
        replies = await asyncio.gather(*(self.call(self.stats.GetHistogram, stats_pb2.GetHistogramRequest(
            name=name, kind=kind, percentiles=list(percentiles))) for kind in kinds))
        return {kind: reply.histogram for kind, reply in zip(kinds, replies)}

    async def close(self) -> None:
        await self.grpc_channel.close()


class AsyncRtUdp:
    """RtUdp's arguments and methods, as coroutines (send_data, receive_data, get_packet_stats, ...)."""

    def __init__(self, local_ip: str, local_port: int, remote_ip: Optional[str] = None, remote_port: int = 0,
                 cpu: int = -1, capacity: int = 65536, direction: Union[int, str] = BOTH, *,
                 daemon: Union[None, str, AsyncClient] = None, channel_id: Optional[str] = None, priority: Optional[int] = None,
                 max_payload: Optional[int] = None, late_policy: Optional[int] = None, late_tolerance_ns: Optional[int] = None,
                 channel: Optional[channel_pb2.Channel] = None, queue_size: int = 65536, on_full: str = "block",
                 block_timeout_s: Optional[float] = None, receive_buffer: int = 65536) -> None:
        self._config = build_channel(local_ip, local_port, remote_ip, remote_port, cpu, capacity, direction, priority,
                                     max_payload, late_policy, late_tolerance_ns, channel)
        check_int("queue_size", queue_size, 1, 1 << 30)
        check_int("receive_buffer", receive_buffer, 1, 1 << 30)
        if on_full not in ("block", "raise"):
            raise invalid_argument("on_full", f"{on_full!r} is not \"block\" or \"raise\"")
        self._owns_client = not isinstance(daemon, AsyncClient)
        self.client = daemon if isinstance(daemon, AsyncClient) else AsyncClient(daemon)
        self._id = channel_id or new_channel_id(self._config.direction)
        self._queue_size, self._on_full, self._block_timeout_s = queue_size, on_full, block_timeout_s
        self._receive_buffer = receive_buffer
        self._max_payload = MAX_UDP_PAYLOAD
        #: The data path, as RtUdp reports it: asyncio channels always stream over gRPC.
        self.transport = "grpc"
        self.transport_reason = "rtudp.aio always uses gRPC (the shared-memory path is RtUdp's)"
        self.channel: Optional[channel_pb2.Channel] = None
        self._running = self._deleted = False
        self._queue: Optional[asyncio.Queue] = None
        self._send_call = None
        self._send_error: Optional[RtUdpError] = None
        self._received: Optional[asyncio.Queue] = None
        self._receive_task: Optional[asyncio.Task] = None
        self._receive_error: Optional[RtUdpError] = None
        #: Packets queued by send_data, confirmed enqueued by rtudpd (when a stream ends), handed to receive_data.
        self.queued = self.confirmed = self.delivered = 0

    @property
    def name(self) -> str:
        return channel_name(self._id)

    @property
    def local_port(self) -> int:
        return self._created().bound_local.port

    def _created(self) -> channel_pb2.Channel:
        if self.channel is None or self._deleted:
            raise ChannelStateError(f"{self.name}: call init_socket() first")
        return self.channel

    async def init_socket(self) -> channel_pb2.Channel:
        if self.channel is not None and not self._deleted:
            return self.channel
        request = channel_pb2.CreateChannelRequest(channel_id=self._id, channel=self._config, start=False)
        self.channel = (await self.client.call(self.client.channels.CreateChannel, request)).channel
        self._deleted = False
        if self.channel.HasField("max_payload"):
            self._max_payload = self.channel.max_payload
        return self.channel

    async def start(self) -> bool:
        self._created()
        if self._running:
            return False
        self.channel = (await self.client.call(self.client.channels.StartChannel, channel_pb2.StartChannelRequest(name=self.name))).channel
        self._running = True
        if self._config.direction != channel_pb2.CHANNEL_DIRECTION_SEND and self._receive_task is None:
            self._received = asyncio.Queue(self._receive_buffer)
            call = self.client.packets.ReceiveStream(packet_pb2.ReceiveStreamRequest(channel=self.name, max_batch=256))
            self._receive_task = asyncio.ensure_future(self._pump(call))
        return True

    # -- sending ------------------------------------------------------------------------------------------------

    def _open_stream(self) -> None:
        self._queue = asyncio.Queue(self._queue_size)
        queue = self._queue

        async def requests():
            yield packet_pb2.SendStreamRequest(channel=self.name)
            while True:
                item = await queue.get()
                if item is _END:
                    return
                request = packet_pb2.SendStreamRequest()
                while True:
                    payload, timestamp_ns = item
                    if timestamp_ns is None:
                        request.packets.add(payload=payload)
                    else:
                        request.packets.add(payload=payload, monotonic_ns=timestamp_ns)
                    if len(request.packets) >= _BATCH_PACKETS or queue.empty():
                        break
                    item = queue.get_nowait()
                    if item is _END:
                        yield request
                        return
                yield request

        self._send_call = self.client.packets.SendStream(requests())

    async def send_data(self, data: Union[bytes, bytearray, memoryview], timestamp_ns: Optional[int] = None) -> None:
        if self._config.direction == channel_pb2.CHANNEL_DIRECTION_RECEIVE:
            raise ChannelStateError(f"{self.name} is a receive-only channel (direction 1)")
        self._created()
        data = checked_payload(data, self._max_payload)
        timestamp_ns = checked_timestamp(timestamp_ns)
        if self._send_error is not None:
            raise self._send_error
        if self._send_call is not None and self._send_call.done():
            await self._finish_stream()  # raises how it ended
        if self._send_call is None:
            self._open_stream()
        try:
            if self._on_full == "raise":
                self._queue.put_nowait((data, timestamp_ns))
            else:
                await asyncio.wait_for(self._queue.put((data, timestamp_ns)), self._block_timeout_s)
        except (asyncio.QueueFull, asyncio.TimeoutError):
            raise QueueFullError(f"the send queue of {self.name} is full ({self._queue_size} packets): the packet was not queued",
                                 reason="QUEUE_FULL") from None
        self.queued += 1

    async def _finish_stream(self) -> None:
        call, self._send_call = self._send_call, None
        try:
            response = await call
            self.confirmed += response.accepted
        except grpc.RpcError as e:
            self._send_error = self.client.translate(e)
        except asyncio.CancelledError:
            self._send_error = RtUdpError(f"the SendStream of {self.name} was cancelled")
        error, self._send_error = self._send_error, None
        if error is not None:
            raise error

    async def flush(self) -> None:
        """Waits until rtudpd has every packet queued before (or raises why not)."""
        if self._send_call is not None:
            if not self._send_call.done():
                await self._queue.put(_END)
            await self._finish_stream()
        elif self._send_error is not None:
            error, self._send_error = self._send_error, None
            raise error

    # -- receiving ----------------------------------------------------------------------------------------------

    async def _pump(self, call) -> None:
        try:
            async for response in call:
                for packet in response.packets:
                    await self._received.put(packet)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.CANCELLED:
                self._receive_error = self.client.translate(e)

    async def receive_packet(self, timeout_ns: Optional[int] = None) -> Optional[packet_pb2.ReceivedPacket]:
        if self._config.direction == channel_pb2.CHANNEL_DIRECTION_SEND:
            raise ChannelStateError(f"{self.name} is a send-only channel (direction 0)")
        if self._received is None:
            raise ChannelStateError(f"{self.name}: call start() first")
        if self._received.empty():
            if self._receive_error is not None:
                raise self._receive_error
            if self._receive_task.done():
                raise ChannelStateError(f"the receive stream of {self.name} has ended")
        try:
            packet = await asyncio.wait_for(self._received.get(), None if timeout_ns is None else timeout_ns / 1e9)
        except asyncio.TimeoutError:
            return None
        self.delivered += 1
        return packet

    async def receive_data(self, timeout_ns: Optional[int] = None) -> Tuple[Optional[bytes], Optional[int]]:
        packet = await self.receive_packet(timeout_ns)
        return (None, None) if packet is None else (packet.payload, packet.monotonic_ns)

    async def packets(self, timeout_ns: Optional[int] = None) -> AsyncIterator[packet_pb2.ReceivedPacket]:
        while True:
            packet = await self.receive_packet(timeout_ns)
            if packet is None:
                return
            yield packet

    def __aiter__(self) -> AsyncIterator[packet_pb2.ReceivedPacket]:
        return self.packets()

    # -- stats, lifecycle ---------------------------------------------------------------------------------------

    async def get_packet_stats(self) -> Dict[str, Union[int, float, bool, str]]:
        self._created()
        stats = await self.client.get_stats(self.name)
        histograms = await self.client.get_histograms(self.name, list(stats_module.HISTOGRAM_KINDS), list(stats_module.PERCENTILES))
        out = stats_module.flatten(stats, histograms)
        out.update(client_queued=self.queued, client_confirmed=self.confirmed, client_unconfirmed=self.queued - self.confirmed,
                   client_queue_length=self._queue.qsize() if self._queue else 0, client_ring_full_waits=0, client_ring_full_waited_s=0.0,
                   client_received=self.delivered, client_rx_buffered=self._received.qsize() if self._received else 0,
                   transport=self.transport)
        return out

    async def wait_sent(self, timeout_s: float = 30.0) -> Dict[str, Union[int, float, bool, str]]:
        deadline = time.monotonic() + timeout_s
        await self.flush()
        while True:
            stats = await self.client.get_stats(self.name)
            if stats.tx.pending == 0 and stats.tx.balanced:
                return await self.get_packet_stats()
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{self.name}: {stats.tx.pending} packets still pending after {timeout_s} s")
            await asyncio.sleep(0.002)

    async def stop(self) -> None:
        if not self._running:
            return
        failure: Optional[BaseException] = None
        try:
            await self.flush()
        except RtUdpError as e:
            failure = e
        self._running = False
        self.channel = (await self.client.call(self.client.channels.StopChannel, channel_pb2.StopChannelRequest(name=self.name))).channel
        if failure is not None:
            raise failure

    async def close_socket(self) -> Dict[str, int]:
        if self.channel is None or self._deleted:
            return {}
        try:
            await self.stop()
        finally:
            if self._receive_task is not None:
                self._receive_task.cancel()
            reply = await self.client.call(self.client.channels.DeleteChannel, channel_pb2.DeleteChannelRequest(name=self.name))
            self._deleted = True
            if self._owns_client:
                await self.client.close()
        return dict(reply.final_counters)

    async def __aenter__(self) -> "AsyncRtUdp":
        await self.init_socket()
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close_socket()
