"""receive_data's machinery: a ReceiveStream call opened at start(), read by a thread into a bounded buffer."""

import collections
import threading
import time
from typing import Deque, Optional

import grpc

from rtudp.errors import ChannelStateError, RtUdpError
from rtudp.v1 import packet_pb2

#: Most packets per stream message from rtudpd.
STREAM_BATCH = 256


class StreamReceiver:
    """Packets of one channel as rtudpd streams them. When the buffer is full the thread stops reading: the stream's
    flow control then holds packets back in the daemon's RX ring, whose overflow the daemon counts (rx dropped_overflow)."""

    def __init__(self, client, name: str, buffer_packets: int) -> None:
        self._client = client
        self._name = name
        self._capacity = buffer_packets
        self._buffer: Deque[packet_pb2.ReceivedPacket] = collections.deque()
        self._ready = threading.Condition()
        self._closing = False
        self._ended = False
        self._error: Optional[RtUdpError] = None
        self._call = client.packets.ReceiveStream(packet_pb2.ReceiveStreamRequest(channel=name, max_batch=STREAM_BATCH))
        self._thread = threading.Thread(target=self._pump, name=f"rtudp-receive {name}", daemon=True)
        self._thread.start()
        #: Packets taken from the stream, and those handed to the caller.
        self.streamed = 0
        self.delivered = 0

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def _pump(self) -> None:
        try:
            for response in self._call:
                with self._ready:
                    while len(self._buffer) >= self._capacity and not self._closing:
                        self._ready.wait()
                    # Kept even while closing: rtudpd counted them drained, so they are the caller's now.
                    self._buffer.extend(response.packets)
                    self.streamed += len(response.packets)
                    self._ready.notify_all()
        except grpc.RpcError as e:
            if not self._closing:
                self._error = self._client.translate(e)
        finally:
            with self._ready:
                self._ended = True
                self._ready.notify_all()

    def get(self, timeout_ns: Optional[int]) -> Optional[packet_pb2.ReceivedPacket]:
        """The next packet, waiting up to timeout_ns (None: without limit); None when none came in time."""
        deadline = None if timeout_ns is None else time.monotonic_ns() + timeout_ns
        with self._ready:
            while not self._buffer:
                if self._ended or self._closing:
                    if self._error is not None:
                        raise self._error
                    raise ChannelStateError(f"the receive stream of {self._name} has ended (channel stopped or deleted)")
                if deadline is None:
                    self._ready.wait()
                else:
                    remaining = deadline - time.monotonic_ns()
                    if remaining <= 0:
                        return None
                    self._ready.wait(remaining / 1e9)
            packet = self._buffer.popleft()
            self.delivered += 1
            if len(self._buffer) == self._capacity - 1:
                self._ready.notify_all()
            return packet

    def close(self) -> None:
        with self._ready:
            self._closing = True
            self._ready.notify_all()
        self._call.cancel()
        self._thread.join(timeout=10)
