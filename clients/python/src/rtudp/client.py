"""A connection to rtudpd and typed calls over its rtudp.v1 API (the richer API beyond the original RtUdp class).

Every refused call raises an RtUdpError subclass (errors.py); the generated stubs stay available
(client.channels, client.packets, client.stats, client.generators, ...) for anything not wrapped here.
"""

import os
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, TypeVar, Union

import grpc

from rtudp.address import DaemonAddress, parse_address
from rtudp.errors import from_rpc_error, RtUdpError
from rtudp.v1 import (capability_pb2, capability_pb2_grpc, capture_pb2_grpc, channel_pb2, channel_pb2_grpc,
                      clock_pb2, clock_pb2_grpc, engine_pb2, engine_pb2_grpc, generator_pb2, generator_pb2_grpc,
                      packet_pb2_grpc, stats_pb2, stats_pb2_grpc)

T = TypeVar("T")

#: Deadline of each unary call, seconds.
DEFAULT_CALL_TIMEOUT_S = 30.0
_MAX_MESSAGE_BYTES = 64 * 1024 * 1024


def channel_name(channel: str) -> str:
    """"channels/ID" for an id or a name."""
    return channel if channel.startswith("channels/") else "channels/" + channel


def _read(path: Optional[str]) -> Optional[bytes]:
    if not path:
        return None
    with open(path, "rb") as f:
        return f.read()


class Client:
    """rtudpd at `address` (None: the default unix socket, as rtudpctl finds it; a path or "unix:PATH"; or
    "http://HOST:PORT" / "https://HOST:PORT" for its TCP listener). For https: `ca` is a PEM file of the CA(s)
    the daemon's certificate must chain to (default: the system's), `cert`/`key` a client certificate for mutual TLS.
    Nothing is sent until the first call."""

    def __init__(self, address: Optional[str] = None, *, ca: Optional[str] = None, cert: Optional[str] = None,
                 key: Optional[str] = None, call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S) -> None:
        self.address: DaemonAddress = parse_address(address)
        self.call_timeout_s = call_timeout_s
        options = [("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES), ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES)]
        if self.address.tls:
            credentials = grpc.ssl_channel_credentials(root_certificates=_read(ca), private_key=_read(key or cert), certificate_chain=_read(cert))
            self.grpc_channel = grpc.secure_channel(self.address.grpc_target, credentials, options)
        else:
            if ca or cert or key:
                raise ValueError(f"TLS files were given but {self.address} is not an https:// address")
            self.grpc_channel = grpc.insecure_channel(self.address.grpc_target, options)
        self.channels = channel_pb2_grpc.ChannelServiceStub(self.grpc_channel)
        self.packets = packet_pb2_grpc.PacketServiceStub(self.grpc_channel)
        self.stats = stats_pb2_grpc.StatsServiceStub(self.grpc_channel)
        self.clock = clock_pb2_grpc.ClockServiceStub(self.grpc_channel)
        self.capabilities = capability_pb2_grpc.CapabilityServiceStub(self.grpc_channel)
        self.generators = generator_pb2_grpc.GeneratorServiceStub(self.grpc_channel)
        self.captures = capture_pb2_grpc.CaptureServiceStub(self.grpc_channel)
        self.engine = engine_pb2_grpc.EngineServiceStub(self.grpc_channel)

    # -- plumbing -----------------------------------------------------------------------------------------------

    def translate(self, error: grpc.RpcError) -> RtUdpError:
        """The typed exception for a failed call of this connection."""
        exists = os.path.exists(self.address.socket_path) if self.address.socket_path else None
        return from_rpc_error(error, str(self.address), exists)

    def call(self, method: Callable[..., T], request: Any, timeout_s: Optional[float] = None) -> T:
        """A unary call with the connection's deadline, failures raised as RtUdpError."""
        try:
            return method(request, timeout=self.call_timeout_s if timeout_s is None else timeout_s)
        except grpc.RpcError as e:
            raise self.translate(e) from None

    def close(self) -> None:
        self.grpc_channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- clock, engine ------------------------------------------------------------------------------------------

    def clock_ns(self) -> int:
        """The daemon host's CLOCK_MONOTONIC now, ns: the clock send times are in (time.monotonic_ns() on the same host)."""
        return self.call(self.clock.GetClock, clock_pb2.GetClockRequest()).monotonic_ns

    def get_clock(self) -> clock_pb2.GetClockResponse:
        return self.call(self.clock.GetClock, clock_pb2.GetClockRequest())

    def get_engine(self) -> engine_pb2.GetEngineResponse:
        return self.call(self.engine.GetEngine, engine_pb2.GetEngineRequest())

    def get_capabilities(self) -> capability_pb2.GetCapabilitiesResponse:
        return self.call(self.capabilities.GetCapabilities, capability_pb2.GetCapabilitiesRequest())

    # -- channels -----------------------------------------------------------------------------------------------

    def create_channel(self, channel_id: str, channel: channel_pb2.Channel, start: bool = False) -> channel_pb2.Channel:
        return self.call(self.channels.CreateChannel, channel_pb2.CreateChannelRequest(channel_id=channel_id, channel=channel, start=start)).channel

    def get_channel(self, channel: str) -> channel_pb2.Channel:
        return self.call(self.channels.GetChannel, channel_pb2.GetChannelRequest(name=channel_name(channel))).channel

    def list_channels(self) -> List[channel_pb2.Channel]:
        return list(self.call(self.channels.ListChannels, channel_pb2.ListChannelsRequest()).channels)

    def start_channel(self, channel: str) -> channel_pb2.Channel:
        return self.call(self.channels.StartChannel, channel_pb2.StartChannelRequest(name=channel_name(channel))).channel

    def stop_channel(self, channel: str) -> channel_pb2.Channel:
        return self.call(self.channels.StopChannel, channel_pb2.StopChannelRequest(name=channel_name(channel))).channel

    def delete_channel(self, channel: str) -> Dict[str, int]:
        """Deletes a channel; returns its final counters."""
        return dict(self.call(self.channels.DeleteChannel, channel_pb2.DeleteChannelRequest(name=channel_name(channel))).final_counters)

    # -- stats, histograms, flows -------------------------------------------------------------------------------

    def get_stats(self, channel: str) -> stats_pb2.ChannelStats:
        return self.call(self.stats.GetStats, stats_pb2.GetStatsRequest(name=channel_name(channel))).stats

    def get_histogram(self, channel: str, kind: Union[int, str] = stats_pb2.HISTOGRAM_KIND_SEND_ERROR,
                      percentiles: Sequence[float] = ()) -> stats_pb2.Histogram:
        """One latency histogram (kind: a HistogramKind or its name, e.g. "DELIVERY"); percentiles unset: 50, 90, 99, 99.9, 99.99, 100."""
        return self.call(self.stats.GetHistogram, stats_pb2.GetHistogramRequest(
            name=channel_name(channel), kind=histogram_kind(kind), percentiles=list(percentiles))).histogram

    def get_histograms(self, channel: str, kinds: Iterable[int], percentiles: Sequence[float] = ()) -> Dict[int, stats_pb2.Histogram]:
        """Several histograms, asked at once (one round trip's wait instead of one per kind)."""
        name = channel_name(channel)
        futures = {kind: self.stats.GetHistogram.future(stats_pb2.GetHistogramRequest(name=name, kind=kind, percentiles=list(percentiles)),
                                                         timeout=self.call_timeout_s) for kind in kinds}
        try:
            return {kind: future.result().histogram for kind, future in futures.items()}
        except grpc.RpcError as e:
            raise self.translate(e) from None

    def get_flows(self, channel: str) -> List[stats_pb2.FlowStats]:
        """A sequenced channel's flows (loss, duplicates, reordering, jitter, latency)."""
        return list(self.get_stats(channel).flows)

    # -- generators ---------------------------------------------------------------------------------------------

    def start_generator(self, request: generator_pb2.StartGeneratorRequest) -> generator_pb2.StartGeneratorResponse:
        return self.call(self.generators.StartGenerator, request)

    def get_generator(self, name: str) -> generator_pb2.GetGeneratorResponse:
        return self.call(self.generators.GetGenerator, generator_pb2.GetGeneratorRequest(name=name))

    def list_generators(self) -> generator_pb2.ListGeneratorsResponse:
        return self.call(self.generators.ListGenerators, generator_pb2.ListGeneratorsRequest())

    def stop_generator(self, name: str) -> generator_pb2.StopGeneratorResponse:
        return self.call(self.generators.StopGenerator, generator_pb2.StopGeneratorRequest(name=name))


def histogram_kind(kind: Union[int, str]) -> int:
    """A HistogramKind from its number or name ("SEND_ERROR" or "HISTOGRAM_KIND_SEND_ERROR")."""
    if isinstance(kind, str):
        name = kind.upper()
        return stats_pb2.HistogramKind.Value(name if name.startswith("HISTOGRAM_KIND_") else "HISTOGRAM_KIND_" + name)
    return int(kind)
