"""ctypes bindings for librtudp, the same-host data path over shared memory (docs/shm-clients.md is the contract).

Nothing here talks gRPC: RtUdp (channel.py) creates and starts channels over gRPC, then attaches to them here and
sends and receives through the client's own rings in shared memory.

The library is looked up once per value of $RTUDP_LIBRARY:
  * $RTUDP_LIBRARY set: that file, and nothing else (a wrong path is reported, never replaced by another library);
  * else ctypes.util.find_library("rtudp"), else "librtudp.so.1" through the dynamic loader's search path;
  * else it is not available, and `load()` says why (RtUdp reports it in transport_reason).
Its rtudp_abi_version() must be ABI_VERSION.

Every failing call raises the package's exception for its RTUDP_E_* code (`error()`), with rtudp_last_error()'s text.
"""

import ctypes
import ctypes.util
import ipaddress
import os
import threading
import time
from typing import Callable, Dict, NamedTuple, Optional, Tuple, Type

import grpc

from rtudp.errors import (ChannelStateError, DaemonUnreachableError, FieldViolation, InvalidArgumentError, NotFoundError,
                          PermissionDeniedError, QueueFullError, ResourceExhaustedError, RtUdpError, ShmUnavailableError,
                          invalid_argument)

#: The ABI this binding is written for (rtudp.h's RTUDP_ABI_VERSION).
ABI_VERSION = 1
LIBRARY_VARIABLE = "RTUDP_LIBRARY"
SHM_SOCKET_VARIABLE = "RTUDP_SHM_SOCKET"
#: The broker's socket, beside rtudpd's gRPC unix socket (Listen:ShmSocket).
SHM_SOCKET_NAME = "rtudp-shm.sock"

RTUDP_ABI_VERSION = ABI_VERSION
RTUDP_SEND_IMMEDIATE = 1
RTUDP_ATTACH_SEND = 1
RTUDP_ATTACH_RECEIVE = 2
# rtudp_stats.state
RTUDP_STATE_ATTACHED = 1
RTUDP_STATE_DETACHED = 2
RTUDP_STATE_FAULTED = 3
RTUDP_STATE_REATTACHING = 4
# rtudp_rx_info.stamp_source, .flags
RTUDP_STAMP_NONE = 0
RTUDP_STAMP_WORKER = 1
RTUDP_STAMP_SOFTWARE = 2
RTUDP_STAMP_HARDWARE = 3
RTUDP_RX_COALESCED = 1

# Status codes (ShmStatus, rtudp.h).
RTUDP_OK = 0
RTUDP_E_INVALID = -1
RTUDP_E_NOT_FOUND = -2
RTUDP_E_PERMISSION = -3
RTUDP_E_AGAIN = -4
RTUDP_E_TIMEOUT = -5
RTUDP_E_TOO_LARGE = -6
RTUDP_E_DETACHED = -7
RTUDP_E_FAULTED = -8
RTUDP_E_VERSION = -9
RTUDP_E_CONNECT = -10
RTUDP_E_EXHAUSTED = -11
RTUDP_E_PRECONDITION = -12
RTUDP_E_SYSTEM = -13
RTUDP_E_BUFFER = -14

#: code -> (name, exception class, the gRPC status that means the same on the gRPC path).
STATUS: Dict[int, Tuple[str, Type[RtUdpError], Optional[grpc.StatusCode]]] = {
    RTUDP_E_INVALID: ("RTUDP_E_INVALID", InvalidArgumentError, grpc.StatusCode.INVALID_ARGUMENT),
    RTUDP_E_NOT_FOUND: ("RTUDP_E_NOT_FOUND", NotFoundError, grpc.StatusCode.NOT_FOUND),
    RTUDP_E_PERMISSION: ("RTUDP_E_PERMISSION", PermissionDeniedError, grpc.StatusCode.PERMISSION_DENIED),
    RTUDP_E_AGAIN: ("RTUDP_E_AGAIN", QueueFullError, None),
    RTUDP_E_TIMEOUT: ("RTUDP_E_TIMEOUT", RtUdpError, grpc.StatusCode.DEADLINE_EXCEEDED),
    RTUDP_E_TOO_LARGE: ("RTUDP_E_TOO_LARGE", InvalidArgumentError, grpc.StatusCode.INVALID_ARGUMENT),
    RTUDP_E_DETACHED: ("RTUDP_E_DETACHED", ChannelStateError, grpc.StatusCode.FAILED_PRECONDITION),
    RTUDP_E_FAULTED: ("RTUDP_E_FAULTED", ChannelStateError, grpc.StatusCode.FAILED_PRECONDITION),
    RTUDP_E_VERSION: ("RTUDP_E_VERSION", ShmUnavailableError, grpc.StatusCode.FAILED_PRECONDITION),
    RTUDP_E_CONNECT: ("RTUDP_E_CONNECT", DaemonUnreachableError, grpc.StatusCode.UNAVAILABLE),
    RTUDP_E_EXHAUSTED: ("RTUDP_E_EXHAUSTED", ResourceExhaustedError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    RTUDP_E_PRECONDITION: ("RTUDP_E_PRECONDITION", ChannelStateError, grpc.StatusCode.FAILED_PRECONDITION),
    RTUDP_E_SYSTEM: ("RTUDP_E_SYSTEM", RtUdpError, grpc.StatusCode.INTERNAL),
    RTUDP_E_BUFFER: ("RTUDP_E_BUFFER", InvalidArgumentError, grpc.StatusCode.INVALID_ARGUMENT),
}

#: Region states (rtudp_stats.state).
STATES = {RTUDP_STATE_ATTACHED: "attached", RTUDP_STATE_DETACHED: "detached", RTUDP_STATE_FAULTED: "faulted",
          RTUDP_STATE_REATTACHING: "reattaching"}

_I64_LIMIT = 1 << 63
#: The largest UDP payload, and the receive buffer's size (enough for any channel's max payload).
RECEIVE_BUFFER_BYTES = 65536
#: A receive without a timeout waits in slices this long, so that detach (stop(), close_socket()) is never held up longer.
RECEIVE_SLICE_NS = 100_000_000


def status_name(code: int) -> str:
    entry = STATUS.get(code)
    return entry[0] if entry else f"RTUDP_E_{code}"


# -- the ABI's structs --------------------------------------------------------------------------------------------

class rtudp_packet(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("length", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("time_ns", ctypes.c_int64), ("packet_id", ctypes.c_int64)]


class rtudp_rx_info(ctypes.Structure):
    _fields_ = [("length", ctypes.c_uint32), ("stamp_source", ctypes.c_int32), ("kernel_realtime_ns", ctypes.c_int64),
                ("hardware_raw_ns", ctypes.c_int64), ("best_monotonic_ns", ctypes.c_int64),
                ("worker_monotonic_ns", ctypes.c_int64), ("source_addr", ctypes.c_uint8 * 16),
                ("source_port", ctypes.c_uint16), ("source_family", ctypes.c_uint16), ("flags", ctypes.c_uint32),
                ("sequence", ctypes.c_int64)]


class rtudp_stats(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in (
        "tx_accepted", "tx_malformed", "tx_throttled", "tx_dropped_detach", "rx_delivered", "rx_unread_detach", "faults",
        "tx_ring_used_bytes", "tx_ring_capacity", "rx_ring_used_bytes", "rx_ring_capacity")] + [
        (name, ctypes.c_uint32) for name in ("state", "engine_epoch", "channel_id", "client_id", "max_payload", "reserved")]

    def as_dict(self) -> Dict[str, int]:
        return {name: getattr(self, name) for name, _ in self._fields_ if name != "reserved"}


# -- the library --------------------------------------------------------------------------------------------------

_c = ctypes
_SIGNATURES = {
    # name: (restype, argtypes)
    "rtudp_abi_version": (_c.c_uint32, []),
    "rtudp_last_error": (_c.c_char_p, []),
    "rtudp_connect": (_c.c_int, [_c.c_char_p, _c.POINTER(_c.c_void_p)]),
    "rtudp_disconnect": (None, [_c.c_void_p]),
    "rtudp_attach": (_c.c_int, [_c.c_void_p, _c.c_char_p, _c.c_uint32, _c.POINTER(_c.c_void_p)]),
    # data as c_char_p: bytes are passed as a pointer to their own buffer, without a copy.
    "rtudp_send": (_c.c_int, [_c.c_void_p, _c.c_char_p, _c.c_uint32, _c.c_int64, _c.c_int64, _c.c_uint32]),
    "rtudp_send_batch": (_c.c_int, [_c.c_void_p, _c.POINTER(rtudp_packet), _c.c_uint32]),
    "rtudp_receive": (_c.c_int, [_c.c_void_p, _c.c_void_p, _c.c_uint32, _c.c_int64, _c.POINTER(rtudp_rx_info)]),
    "rtudp_stats_get": (_c.c_int, [_c.c_void_p, _c.POINTER(rtudp_stats)]),
    "rtudp_detach": (_c.c_int, [_c.c_void_p]),
    "rtudp_monotonic_ns": (_c.c_int64, []),
}


class Library:
    """librtudp loaded from `path`, every function of the ABI with its argtypes and restype set."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.dll = ctypes.CDLL(path)  # CDLL: the GIL is released during each call (rtudp_receive may wait)
        missing = [name for name in _SIGNATURES if not hasattr(self.dll, name)]
        if missing:
            raise OSError(f"{path} lacks {', '.join(missing)}: not librtudp ABI {ABI_VERSION}")
        for name, (restype, argtypes) in _SIGNATURES.items():
            function = getattr(self.dll, name)
            function.restype = restype
            function.argtypes = argtypes
            setattr(self, name, function)
        version = self.rtudp_abi_version()
        if version != ABI_VERSION:
            raise OSError(f"{path} has ABI version {version}; this package speaks ABI version {ABI_VERSION}")
        self.abi_version = version

    def last_error(self) -> str:
        message = self.rtudp_last_error()
        return message.decode("utf-8", "replace") if message else ""

    def error(self, code: int, call: str, *, field: str = "", address: str = "") -> RtUdpError:
        """The exception for a failed call (`code` < 0), carrying the library's message."""
        name, kind, grpc_code = STATUS.get(code, (f"RTUDP_E_{code}", RtUdpError, None))
        detail = self.last_error() or "no message"
        message = f"{call}: {name} ({code}): {detail}"
        metadata = {"code": str(code)}
        if kind is DaemonUnreachableError:
            error: RtUdpError = DaemonUnreachableError(address or "rtudpd's shared-memory socket", f"{call}: {name}: {detail}", grpc_code)
        elif kind is InvalidArgumentError and field:
            error = InvalidArgumentError(message, code=grpc_code, detail=detail, reason=name, metadata=metadata,
                                         field_violations=[FieldViolation(field, detail)])
        else:
            error = kind(message, code=grpc_code, detail=detail, reason=name, metadata=metadata)
        error.reason = name
        error.metadata = metadata
        error.shm_status = code  # type: ignore[attr-defined]
        return error

    def monotonic_ns(self) -> int:
        return self.rtudp_monotonic_ns()


class LoadResult(NamedTuple):
    library: Optional[Library]
    #: Why not (None when loaded), or which file was loaded.
    reason: str


_loaded: Dict[Optional[str], LoadResult] = {}
_load_lock = threading.Lock()


def _candidates() -> list:
    found = ctypes.util.find_library("rtudp")
    names = [found] if found else []
    if "librtudp.so.1" not in names:
        names.append("librtudp.so.1")
    return names


def load() -> LoadResult:
    """librtudp, or None with the reason it is not available. Cached for each value of $RTUDP_LIBRARY."""
    explicit = os.environ.get(LIBRARY_VARIABLE) or None
    with _load_lock:
        cached = _loaded.get(explicit)
        if cached is not None:
            return cached
        result = _load(explicit)
        _loaded[explicit] = result
        return result


def _load(explicit: Optional[str]) -> LoadResult:
    if explicit is not None:
        if not os.path.isfile(explicit):
            return LoadResult(None, f"${LIBRARY_VARIABLE}={explicit}: no such file")
        try:
            library = Library(os.path.abspath(explicit))
        except OSError as e:
            return LoadResult(None, f"${LIBRARY_VARIABLE}={explicit} cannot be loaded: {e}")
        return LoadResult(library, f"librtudp {library.path} (ABI {library.abi_version})")
    failures = []
    for name in _candidates():
        try:
            library = Library(name)
        except OSError as e:
            failures.append(f"{name}: {e}")
            continue
        return LoadResult(library, f"librtudp {name} (ABI {library.abi_version})")
    return LoadResult(None, f"librtudp not found (${LIBRARY_VARIABLE} unset; {'; '.join(failures)})")


def broker_socket(grpc_socket_path: str) -> str:
    """The broker's socket: $RTUDP_SHM_SOCKET, else rtudp-shm.sock beside rtudpd's gRPC unix socket."""
    explicit = os.environ.get(SHM_SOCKET_VARIABLE)
    if explicit:
        return os.path.abspath(explicit)
    return os.path.join(os.path.dirname(os.path.abspath(grpc_socket_path)), SHM_SOCKET_NAME)


def _address_text(family: int, raw: bytes) -> str:
    address = ipaddress.IPv6Address(bytes(raw))
    if family == 2 and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


# -- one attachment -----------------------------------------------------------------------------------------------

class Attachment:
    """One channel attached through librtudp: its own connection to the broker and its rings.

    send() and receive() may be called from different threads; sends are serialised (the TX ring has one producer),
    receives too, and detach() waits for both. Sends do not block unless the ring is full and on_full is "block".
    """

    def __init__(self, library: Library, socket_path: str, channel: str, flags: int, on_full: str,
                 block_timeout_s: Optional[float], explain_detached: Optional[Callable[[RtUdpError], RtUdpError]] = None) -> None:
        self._lib = library
        #: Called with the RTUDP_E_DETACHED error of a send or receive: returns the exception to raise instead (RtUdp
        #: asks rtudpd whether the channel still exists, so that a deleted channel is NotFoundError as over gRPC).
        self._explain_detached = explain_detached
        self.socket_path = socket_path
        self.channel = channel
        self._block = on_full == "block"
        self._block_timeout_s = block_timeout_s
        self._tx_lock = threading.Lock()
        self._rx_lock = threading.Lock()
        client = ctypes.c_void_p()
        rc = library.rtudp_connect(socket_path.encode(), ctypes.byref(client))
        if rc < 0:
            raise library.error(rc, f"rtudp_connect({socket_path})", address=socket_path)
        handle = ctypes.c_void_p()
        rc = library.rtudp_attach(client, channel.encode(), flags, ctypes.byref(handle))
        if rc < 0:
            error = library.error(rc, f"rtudp_attach({channel})", field="channel", address=socket_path)
            library.rtudp_disconnect(client)
            raise error
        self._client: Optional[int] = client.value
        #: The rtudp_channel pointer as an int (None once detached); ctypes passes an int to a c_void_p as is.
        self._handle: Optional[int] = handle.value
        self._rtudp_send = library.rtudp_send
        self._rtudp_receive = library.rtudp_receive
        self._buffer = ctypes.create_string_buffer(RECEIVE_BUFFER_BYTES)
        self._buffer_bytes = RECEIVE_BUFFER_BYTES
        self._info = rtudp_rx_info()
        self._stats = rtudp_stats()
        #: send() calls that put a packet into the ring; receive() calls that returned one.
        self.sent = 0
        self.received = 0
        #: How often send() found the ring full (RTUDP_E_AGAIN), and how long it waited for space in all, s.
        self.full_waits = 0
        self.full_waited_s = 0.0
        self.final_stats: Optional[Dict[str, int]] = None

    @property
    def attached(self) -> bool:
        return self._handle is not None

    # -- sending --------------------------------------------------------------------------------------------------

    def send(self, data, timestamp_ns) -> None:
        """One packet into the TX ring: data (bytes, or a bytearray/memoryview, copied), timestamp_ns an absolute
        CLOCK_MONOTONIC time (None: as soon as possible)."""
        if type(data) is not bytes:
            data = _payload(data)
        if timestamp_ns is None:
            time_ns, flags = 0, RTUDP_SEND_IMMEDIATE
        elif type(timestamp_ns) is int and 0 < timestamp_ns < _I64_LIMIT:
            time_ns, flags = timestamp_ns, 0
        else:
            time_ns, flags = _timestamp(timestamp_ns), 0
        with self._tx_lock:
            handle = self._handle
            if handle is None:
                raise ChannelStateError(f"{self.channel}: detached from its shared-memory ring (stop() or close_socket())")
            rc = self._rtudp_send(handle, data, len(data), time_ns, 0, flags)
        if rc < 0:
            self._send_failed(rc, data, time_ns, flags)
        self.sent += 1

    def _failure(self, rc: int, call: str, field: str = "") -> RtUdpError:
        error = self._lib.error(rc, f"{call}({self.channel})", field=field)
        if rc == RTUDP_E_DETACHED and self._explain_detached is not None:
            return self._explain_detached(error)
        return error

    def _send_failed(self, rc: int, data: bytes, time_ns: int, flags: int) -> None:
        if rc != RTUDP_E_AGAIN:
            raise self._failure(rc, "rtudp_send", "data")
        self.full_waits += 1
        began = time.monotonic()
        deadline = None if self._block_timeout_s is None else began + self._block_timeout_s
        pause = 0.0
        try:
            while self._block and (deadline is None or time.monotonic() < deadline):
                time.sleep(pause)  # 0 first: yields the GIL; then up to 1 ms while the engine makes room
                pause = min(0.001, pause * 2 or 0.00002)
                with self._tx_lock:
                    handle = self._handle
                    if handle is None:
                        raise ChannelStateError(f"{self.channel}: detached while waiting for room in its ring")
                    rc = self._rtudp_send(handle, data, len(data), time_ns, 0, flags)
                if rc >= 0:
                    return
                if rc != RTUDP_E_AGAIN:
                    raise self._failure(rc, "rtudp_send", "data")
            error = self._lib.error(RTUDP_E_AGAIN, f"rtudp_send({self.channel})")
            waited = "" if not self._block else f" after waiting {self._block_timeout_s} s"
            raise QueueFullError(f"the shared-memory ring of {self.channel} is full{waited}: the packet was not queued"
                                 f" ({error.detail})", code=None, detail=error.detail, reason="RTUDP_E_AGAIN",
                                 metadata={"code": str(RTUDP_E_AGAIN)})
        finally:
            self.full_waited_s += time.monotonic() - began

    # -- receiving ------------------------------------------------------------------------------------------------

    def receive(self, timeout_ns: Optional[int]) -> Optional[Tuple[bytes, rtudp_rx_info]]:
        """The next packet's payload and its rx_info (a structure reused by the next call), waiting up to timeout_ns
        (None: without limit; 0: only what is there); None on timeout."""
        deadline = None if timeout_ns is None else time.monotonic_ns() + timeout_ns
        while True:
            if deadline is None:
                wait = RECEIVE_SLICE_NS
            else:
                wait = min(RECEIVE_SLICE_NS, max(0, deadline - time.monotonic_ns()))
            with self._rx_lock:
                handle = self._handle
                if handle is None:
                    raise ChannelStateError(f"{self.channel}: detached from its shared-memory ring (stop() or close_socket())")
                rc = self._rtudp_receive(handle, self._buffer, self._buffer_bytes, wait, self._info)
                if rc >= 0:
                    self.received += 1
                    return ctypes.string_at(self._buffer, rc), self._info
                if rc == RTUDP_E_BUFFER and self._info.length > self._buffer_bytes:
                    self._buffer_bytes = self._info.length
                    self._buffer = ctypes.create_string_buffer(self._buffer_bytes)
                    continue
            if rc != RTUDP_E_TIMEOUT:
                raise self._failure(rc, "rtudp_receive")
            if deadline is not None and time.monotonic_ns() >= deadline:
                return None

    # -- stats and lifetime ---------------------------------------------------------------------------------------

    def stats(self) -> Dict[str, int]:
        """rtudp_stats_get: this attachment's counters and ring use (the last ones read before detach, once detached)."""
        with self._tx_lock:
            handle = self._handle
            if handle is None:
                return dict(self.final_stats or {})
            rc = self._lib.rtudp_stats_get(handle, self._stats)
            if rc < 0:
                raise self._lib.error(rc, f"rtudp_stats_get({self.channel})")
            return self._stats.as_dict()

    def wait_taken(self, timeout_s: Optional[float]) -> None:
        """Waits until the engine has taken everything written into the TX ring (tx_ring_used_bytes 0)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            stats = self.stats()
            if not stats or stats["tx_ring_used_bytes"] == 0:
                return
            state = STATES.get(stats["state"], str(stats["state"]))
            if state in ("detached", "faulted"):
                raise ChannelStateError(f"{self.channel}: its shared-memory ring is {state}; {stats['tx_ring_used_bytes']}"
                                        " bytes were not taken")
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"flush: {stats['tx_ring_used_bytes']} bytes still in the shared-memory ring of"
                                   f" {self.channel} after {timeout_s} s")
            time.sleep(0.0005)

    def detach(self) -> Optional[RtUdpError]:
        """rtudp_detach (the engine drains or drops what the ring holds, per the channel's client_exit policy), then
        closes the connection. Returns the detach failure, if any, instead of raising: the caller goes on stopping."""
        with self._tx_lock, self._rx_lock:
            handle, client = self._handle, self._client
            if handle is None:
                return None
            try:
                self.final_stats = self.stats_unlocked(handle)
            except RtUdpError:
                self.final_stats = None
            self._handle = None
            self._client = None
            rc = self._lib.rtudp_detach(handle)
            # RTUDP_E_DETACHED: it had ended already (channel deleted, engine restart failed): nothing left to do.
            failure = self._lib.error(rc, f"rtudp_detach({self.channel})") if rc < 0 and rc != RTUDP_E_DETACHED else None
            if client is not None:
                self._lib.rtudp_disconnect(client)
            return failure

    def stats_unlocked(self, handle: int) -> Dict[str, int]:
        rc = self._lib.rtudp_stats_get(handle, self._stats)
        if rc < 0:
            raise self._lib.error(rc, f"rtudp_stats_get({self.channel})")
        return self._stats.as_dict()


def received_packet(payload: bytes, info: rtudp_rx_info):
    """The rtudp.v1.ReceivedPacket the gRPC path would have delivered for (payload, info)."""
    from rtudp.v1 import common_pb2, packet_pb2

    packet = packet_pb2.ReceivedPacket(
        payload=payload, software_stamp_ns=info.kernel_realtime_ns, hardware_stamp_ns=info.hardware_raw_ns,
        monotonic_ns=info.best_monotonic_ns, stamp_source=info.stamp_source, worker_monotonic_ns=info.worker_monotonic_ns,
        sequence=info.sequence, coalesced=bool(info.flags & RTUDP_RX_COALESCED),
        clock_domain={RTUDP_STAMP_WORKER: common_pb2.CLOCK_DOMAIN_MONOTONIC, RTUDP_STAMP_SOFTWARE: common_pb2.CLOCK_DOMAIN_REALTIME,
                      RTUDP_STAMP_HARDWARE: common_pb2.CLOCK_DOMAIN_PHC}.get(info.stamp_source, common_pb2.CLOCK_DOMAIN_UNSPECIFIED))
    if info.source_family in (2, 10):
        packet.source.address = _address_text(info.source_family, bytes(info.source_addr))
        packet.source.port = info.source_port
    if info.kernel_realtime_ns:
        packet.software_stamp.seconds, packet.software_stamp.nanos = divmod(info.kernel_realtime_ns, 1_000_000_000)
    return packet


def _payload(data: object) -> bytes:
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)  # a copy, as the gRPC path makes: the caller may reuse its buffer
    raise invalid_argument("data", f"must be bytes, bytearray or memoryview, not {type(data).__name__}")


def _timestamp(timestamp_ns: object) -> int:
    if isinstance(timestamp_ns, bool) or not isinstance(timestamp_ns, int):
        raise invalid_argument("timestamp_ns", f"must be an int (CLOCK_MONOTONIC ns) or None, not {type(timestamp_ns).__name__}")
    if timestamp_ns < 0:
        raise invalid_argument("timestamp_ns", f"{timestamp_ns} is negative")
    if timestamp_ns >= _I64_LIMIT:
        raise invalid_argument("timestamp_ns", f"{timestamp_ns} does not fit in 64 bits")
    # 0: a time in the past, as on the gRPC path (sent at once, counted late); the ring's due times must be > 0.
    return max(int(timestamp_ns), 1)


__all__ = ["ABI_VERSION", "Attachment", "Library", "LoadResult", "broker_socket", "load", "received_packet", "status_name",
           "rtudp_packet", "rtudp_rx_info", "rtudp_stats"]
