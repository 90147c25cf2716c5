"""What RtUdp and AsyncRtUdp share: the channel a constructor's arguments describe, and the local checks of
arguments (raised at once, as InvalidArgumentError with a field violation, before anything is sent)."""

import itertools
import os
import threading
from typing import Optional, Union

from rtudp.errors import invalid_argument
from rtudp.v1 import channel_pb2, common_pb2

SEND, RECEIVE, BOTH = 0, 1, 2
DIRECTIONS = {
    SEND: channel_pb2.CHANNEL_DIRECTION_SEND,
    RECEIVE: channel_pb2.CHANNEL_DIRECTION_RECEIVE,
    BOTH: channel_pb2.CHANNEL_DIRECTION_DUPLEX,
    # The names the repository's first Python example used.
    "send": channel_pb2.CHANNEL_DIRECTION_SEND,
    "receive": channel_pb2.CHANNEL_DIRECTION_RECEIVE,
    "duplex": channel_pb2.CHANNEL_DIRECTION_DUPLEX,
    "both": channel_pb2.CHANNEL_DIRECTION_DUPLEX,
}
MAX_UDP_PAYLOAD = 65507
_ids = itertools.count(1)
_ids_lock = threading.Lock()


def new_channel_id(direction: int) -> str:
    with _ids_lock:
        n = next(_ids)
    kind = {channel_pb2.CHANNEL_DIRECTION_SEND: "tx", channel_pb2.CHANNEL_DIRECTION_RECEIVE: "rx"}.get(direction, "duplex")
    return f"py-{kind}-{os.getpid()}-{n}"


def check_int(field: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_argument(field, f"must be an int, not {type(value).__name__}")
    if not low <= value <= high:
        raise invalid_argument(field, f"{value} is outside {low}-{high}")
    return value



def build_channel(local_ip: str, local_port: int, remote_ip: Optional[str], remote_port: int, cpu: int, capacity: int,
                  direction: Union[int, str], priority: Optional[int], max_payload: Optional[int], late_policy: Optional[int],
                  late_tolerance_ns: Optional[int], channel: Optional[channel_pb2.Channel]) -> channel_pb2.Channel:
    """The rtudp.v1.Channel for the original constructor's arguments (checked here, the rest by rtudpd)."""
    if direction not in DIRECTIONS:
        raise invalid_argument("direction", f"{direction!r} is not 0 (send), 1 (receive) or 2 (both)")
    if not isinstance(local_ip, str):
        raise invalid_argument("local_ip", "must be a str such as \"127.0.0.1\"")
    check_int("local_port", local_port, 0, 65535)
    check_int("remote_port", remote_port, 0, 65535)
    check_int("cpu", cpu, -1, 1 << 20)
    check_int("capacity", capacity, 1, 1 << 24)
    config = channel_pb2.Channel()
    if channel is not None:
        config.CopyFrom(channel)
    config.direction = DIRECTIONS[direction]
    config.local.CopyFrom(common_pb2.Endpoint(address=local_ip, port=local_port))
    if remote_ip is not None:
        config.remote.CopyFrom(common_pb2.Endpoint(address=remote_ip, port=remote_port))
    config.capacity = capacity
    config.send_cpu = cpu
    config.receive_cpu = cpu
    for field, value in (("priority", priority), ("max_payload", max_payload), ("late_policy", late_policy),
                         ("late_tolerance_ns", late_tolerance_ns)):
        if value is not None:
            setattr(config, field, value)
    return config


def checked_payload(data: object, max_payload: int) -> bytes:
    if type(data) is not bytes:
        if not isinstance(data, (bytearray, memoryview)):
            raise invalid_argument("data", f"must be bytes, bytearray or memoryview, not {type(data).__name__}")
        data = bytes(data)  # a copy: the caller may change its buffer before the packet leaves
    if len(data) > max_payload:
        raise invalid_argument("data", f"{len(data)} bytes is more than the channel's max_payload ({max_payload})")
    return data


def checked_timestamp(timestamp_ns: object) -> Optional[int]:
    if timestamp_ns is None or (type(timestamp_ns) is int and timestamp_ns >= 0):
        return timestamp_ns  # the common case, checked with the fewest operations: send_data is per packet
    if isinstance(timestamp_ns, bool) or not isinstance(timestamp_ns, int):
        raise invalid_argument("timestamp_ns", f"must be an int (CLOCK_MONOTONIC ns) or None, not {type(timestamp_ns).__name__}")
    if timestamp_ns < 0:
        raise invalid_argument("timestamp_ns", f"{timestamp_ns} is negative")
    return int(timestamp_ns)
