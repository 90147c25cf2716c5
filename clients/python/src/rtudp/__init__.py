"""rtudp: the original RtUdp Python API over rtudpd (a real-time UDP daemon) and its gRPC API.

    from rtudp import RtUdp
    sender = RtUdp("127.0.0.1", 3043, "127.0.0.1", 8974, cpu=3, capacity=1000000, direction=0)

RtUdp (rtudp.channel) is the original API; Client (rtudp.client) the richer one (channels, stats, histograms,
flows, generators, the raw stubs); rtudp.aio the asyncio flavour; rtudp.errors the exceptions; rtudp.v1 the
generated rtudp.v1 messages and stubs (built from protos/ when the package was installed).
"""

try:
    from rtudp.v1 import channel_pb2 as _probe  # noqa: F401
except ImportError as e:  # pragma: no cover - only in a source tree that was never built
    raise ImportError("rtudp: the gRPC stubs are missing: they are generated when the package is built; "
                      "install it (pip install --no-build-isolation ./clients/python) instead of importing the source tree") from e

from rtudp.address import DaemonAddress, default_address, default_socket_candidates, parse_address
from rtudp.channel import BOTH, RECEIVE, SEND, RtUdp
from rtudp.client import Client
from rtudp.errors import (AlreadyExistsError, ChannelStateError, DaemonUnreachableError, FieldViolation, InvalidArgumentError,
                          NotFoundError, PermissionDeniedError, QueueFullError, ResourceExhaustedError, RtUdpError,
                          ShmUnavailableError)

__all__ = ["RtUdp", "Client", "SEND", "RECEIVE", "BOTH", "DaemonAddress", "default_address", "default_socket_candidates",
           "parse_address", "RtUdpError", "InvalidArgumentError", "NotFoundError", "ChannelStateError", "AlreadyExistsError",
           "QueueFullError", "ResourceExhaustedError", "DaemonUnreachableError", "FieldViolation", "PermissionDeniedError",
           "ShmUnavailableError"]
__version__ = "0.1.0"
