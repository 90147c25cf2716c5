"""send_data's machinery: a bounded client-side queue drained by one SendStream call that batches many packets
per stream message, so that a send_data call costs a queue put, not a round trip."""

import threading
from typing import Iterator, Optional

import grpc

from rtudp._send_queue import SendQueue
from rtudp.errors import QueueFullError, RtUdpError
from rtudp.v1 import packet_pb2

#: Most packets and payload bytes per stream message: large batches amortise the per-message cost; the byte
#: bound keeps each message well under gRPC's 4 MiB default limit at the daemon.
BATCH_PACKETS = 1024
BATCH_BYTES = 1 << 20


class StreamSender:
    """Feeds one channel's packets to rtudpd. A failure of the stream (the channel deleted, a packet the daemon
    refused, the daemon gone) is kept and raised by the next put(), and by flush(), which acknowledges it."""

    def __init__(self, client, name: str, queue_size: int, on_full: str, block_timeout_s: Optional[float]) -> None:
        if on_full not in ("block", "raise"):
            raise ValueError(f"on_full must be 'block' or 'raise', not {on_full!r}")
        self._client = client
        self._name = name
        self._queue = SendQueue(queue_size)
        self._block = on_full == "block"
        self._block_timeout_s = block_timeout_s
        self._lock = threading.Lock()
        self._call: Optional[grpc.Future] = None
        self._ending = False
        self._error: Optional[RtUdpError] = None
        #: Packets put in the queue, and those rtudpd confirmed enqueued (known when a stream ends: flush()).
        self.queued = 0
        self.confirmed = 0
        #: How often and how long (s) rtudpd's stream waited for space in the channel's ring (full ring back-pressure).
        self.ring_full_waits = 0
        self.ring_full_waited_s = 0.0

    @property
    def unconfirmed(self) -> int:
        """Packets queued that rtudpd has not confirmed yet (in the queue, in flight, or in an unfinished stream)."""
        return self.queued - self.confirmed

    @property
    def queue_length(self) -> int:
        return self._queue.qsize()

    def _failed(self) -> bool:
        return self._error is not None

    def _stream_should_end(self) -> bool:
        return self._ending or self._error is not None

    def open(self) -> None:
        """Opens the stream now (start() does, so that the first packet does not wait for the call's set-up)."""
        with self._lock:
            if self._call is not None or self._error is not None:
                return
            self._ending = False
            call = self._client.packets.SendStream.future(self._requests())
            self._call = call
        # Outside the lock: a call that has already ended (the daemon refused it at once) runs the callback here,
        # in this thread, and _on_done takes the lock (under it, that deadlocked send_data for good).
        call.add_done_callback(self._on_done)

    def put(self, payload: bytes, timestamp_ns: Optional[int]) -> None:
        if self._error is not None:
            raise self._error
        if self._call is None:
            self.open()
        if not self._queue.put_bounded((payload, timestamp_ns), self._block, self._block_timeout_s, self._failed):
            raise QueueFullError(f"the send queue of {self._name} is full ({self._queue.maxsize} packets): the packet was not queued"
                                 " (rtudpd is slower than the calls, or the channel's ring is full and it is not started)",
                                 reason="QUEUE_FULL", metadata={"queue_size": str(self._queue.maxsize)})
        if self._error is not None:
            raise self._error
        self.queued += 1

    def _requests(self) -> Iterator[packet_pb2.SendStreamRequest]:
        # The first message names the channel: the daemon checks it at once, and the call is set up before any packet.
        yield packet_pb2.SendStreamRequest(channel=self._name)
        while True:
            batch = self._queue.take_batch(BATCH_PACKETS, BATCH_BYTES, self._stream_should_end)
            if batch is None:
                return
            request = packet_pb2.SendStreamRequest()
            add = request.packets.add
            for payload, timestamp_ns in batch:
                if timestamp_ns is None:
                    add(payload=payload)
                else:
                    add(payload=payload, monotonic_ns=timestamp_ns)
            yield request

    def _on_done(self, call: grpc.Future) -> None:
        with self._lock:
            self._finish(call)

    def _finish(self, call: grpc.Future) -> None:
        """Accounts for a finished stream once (called under the lock, from gRPC's callback or from flush())."""
        if call is not self._call:
            return
        self._call = None
        error = call.exception()
        if error is None:
            response = call.result()
            self.confirmed += response.accepted
            self.ring_full_waits += response.full_waits
            self.ring_full_waited_s += response.waited.seconds + response.waited.nanos / 1e9
        else:
            failure = self._client.translate(error) if isinstance(error, grpc.RpcError) else RtUdpError(str(error))
            lost = self._queue.clear()
            failure.args = (f"{failure.args[0]} (SendStream of {self._name} ended: {self.queued - self.confirmed} packets"
                            f" not confirmed, {lost} of them still in the client's queue, not sent)",)
            self._error = failure
        self._queue.wake()

    def flush(self, timeout_s: Optional[float] = None) -> None:
        """Ends the stream once the queue is drained and waits for rtudpd's answer: every packet queued before is
        then enqueued in the channel (or this raises why not). The next put() opens a new stream."""
        with self._lock:
            call = self._call
            self._ending = True
        self._queue.wake()
        if call is not None:
            try:
                call.result(timeout=timeout_s)
            except grpc.FutureTimeoutError:
                raise TimeoutError(f"flush: {self._queue.qsize()} packets still queued for {self._name} after {timeout_s} s"
                                   " (the channel's ring is full: is it started?)") from None
            except grpc.RpcError:
                pass  # accounted by _finish
            with self._lock:
                self._finish(call)
        with self._lock:
            self._ending = False
            error, self._error = self._error, None
        if error is not None:
            raise error

    def close(self, timeout_s: Optional[float] = None) -> None:
        """flush(); on a timeout the stream is cancelled (its queued packets are not sent) and TimeoutError raised."""
        try:
            self.flush(timeout_s)
        except TimeoutError:
            with self._lock:
                call = self._call
            if call is not None:
                call.cancel()
            self._queue.clear()
            raise
