"""The original RtUdp Python API, served by rtudpd over gRPC.

RtUdp(local_ip, local_port, remote_ip, remote_port, cpu, capacity, direction) with init_socket(), start(),
send_data(payload, ts), receive_data(timeout), get_packet_stats(), stop() and close_socket(), done with
rtudpd's rtudp.v1 API. The Python stubs are generated from protos/rtudp/v1 with protoc when this module is
imported (Debian: python3-grpcio python3-protobuf protobuf-compiler protobuf-compiler-grpc; run with
/usr/bin/python3, which sees Debian's packages).
"""

import atexit
import glob
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROTOS = os.environ.get("RTUDP_PROTOS", os.path.join(HERE, "..", "..", "protos"))


def _generate_stubs():
    """protoc + grpc_python_plugin into a temporary directory that goes on sys.path."""
    out = tempfile.mkdtemp(prefix="rtudp-stubs-")
    atexit.register(shutil.rmtree, out, True)
    # rtudp/v1 and the vendored google/api (the HTTP annotations rtudp/v1 imports).
    protos = sorted(os.path.relpath(p, PROTOS) for p in glob.glob(os.path.join(PROTOS, "**", "*.proto"), recursive=True))
    if not protos:
        raise SystemExit(f"no protos in {PROTOS}/rtudp/v1 (set RTUDP_PROTOS)")
    plugin = shutil.which("grpc_python_plugin") or "/usr/bin/grpc_python_plugin"
    subprocess.run(["protoc", "-I", PROTOS, f"--python_out={out}", f"--grpc_out={out}",
                    f"--plugin=protoc-gen-grpc={plugin}", *protos], check=True)
    sys.path.insert(0, out)


_generate_stubs()

import grpc  # noqa: E402
from google.protobuf import duration_pb2  # noqa: E402
from rtudp.v1 import channel_pb2, channel_pb2_grpc, clock_pb2, clock_pb2_grpc, common_pb2  # noqa: E402
from rtudp.v1 import packet_pb2, packet_pb2_grpc, stats_pb2, stats_pb2_grpc  # noqa: E402

DIRECTIONS = {
    "send": channel_pb2.CHANNEL_DIRECTION_SEND,
    "receive": channel_pb2.CHANNEL_DIRECTION_RECEIVE,
    "duplex": channel_pb2.CHANNEL_DIRECTION_DUPLEX,
}


def default_socket():
    """Where rtudpd listens when its configuration does not say (as rtudpctl looks)."""
    if os.environ.get("RTUDP_SOCKET"):
        return os.environ["RTUDP_SOCKET"]
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    user = os.path.join(xdg, "rtudp", "rtudp.sock") if xdg else f"/tmp/rtudp-{os.environ.get('USER', 'root')}/rtudp.sock"
    candidates = ["/run/rtudp/rtudp.sock", user] if os.geteuid() == 0 else [user, "/run/rtudp/rtudp.sock"]
    return next((c for c in candidates if os.path.exists(c)), candidates[0])


class RtUdp:
    """One channel of rtudpd, with the original extension's methods."""

    def __init__(self, local_ip, local_port, remote_ip=None, remote_port=0, cpu=-1, capacity=65536,
                 direction="duplex", name=None, socket=None, priority=None):
        self._grpc = grpc.insecure_channel("unix:" + (socket or default_socket()))
        self._channels = channel_pb2_grpc.ChannelServiceStub(self._grpc)
        self._packets = packet_pb2_grpc.PacketServiceStub(self._grpc)
        self._stats = stats_pb2_grpc.StatsServiceStub(self._grpc)
        self._clock = clock_pb2_grpc.ClockServiceStub(self._grpc)
        self._id = name or f"py-{direction}-{os.getpid()}-{id(self) & 0xffff}"
        self._config = channel_pb2.Channel(direction=DIRECTIONS[direction],
                                           local=common_pb2.Endpoint(address=local_ip, port=local_port),
                                           capacity=capacity, send_cpu=cpu, receive_cpu=cpu)
        if remote_ip:
            self._config.remote.CopyFrom(common_pb2.Endpoint(address=remote_ip, port=remote_port))
        if priority is not None:
            self._config.priority = priority
        self.channel = None

    @property
    def name(self):
        return "channels/" + self._id

    @property
    def local_port(self):
        """The port bound (the kernel's choice when 0 was asked)."""
        return self.channel.bound_local.port

    def init_socket(self):
        """Binds the socket (CreateChannel without starting its workers)."""
        self.channel = self._channels.CreateChannel(channel_pb2.CreateChannelRequest(
            channel_id=self._id, channel=self._config, start=False), timeout=10).channel
        return self.channel

    def start(self):
        self.channel = self._channels.StartChannel(channel_pb2.StartChannelRequest(name=self.name), timeout=10).channel
        if self._config.direction != channel_pb2.CHANNEL_DIRECTION_RECEIVE:
            # An empty Send: the call's first use (about 0.4 ms here, grpcio's and rtudpd's) is paid now, not
            # by the first send_data, whose packet may be due 1 ms after the call.
            self._packets.Send(packet_pb2.SendRequest(channel=self.name), timeout=10)

    def now_ns(self):
        """The daemon host's CLOCK_MONOTONIC, the clock send_data's ts is in."""
        return self._clock.GetClock(clock_pb2.GetClockRequest(), timeout=5).monotonic_ns

    def send_data(self, payload, ts=None):
        """Enqueues payload to leave at ts (CLOCK_MONOTONIC ns; None: now). Returns the due time."""
        packet = packet_pb2.OutgoingPacket(payload=bytes(payload))
        if ts is not None:
            packet.monotonic_ns = ts
        return self._packets.Send(packet_pb2.SendRequest(channel=self.name, packets=[packet]), timeout=10).first_due_monotonic_ns

    def receive_data(self, timeout=1.0):
        """(payload, (address, port), rx_monotonic_ns), or None when nothing came within timeout seconds."""
        wait = duration_pb2.Duration()
        wait.FromNanoseconds(int(timeout * 1e9))
        got = self._packets.Receive(packet_pb2.ReceiveRequest(channel=self.name, max_count=1, timeout=wait),
                                    timeout=timeout + 10).packets
        if not got:
            return None
        p = got[0]
        return p.payload, (p.source.address, p.source.port), p.monotonic_ns

    def get_packet_stats(self):
        """The counters by name, with the send-error histogram's percentiles (ns)."""
        s = self._stats.GetStats(stats_pb2.GetStatsRequest(name=self.name), timeout=5).stats
        stats = dict(s.counters)
        stats.update(state=channel_pb2.ChannelState.Name(s.state), tx_balanced=s.tx.balanced, rx_balanced=s.rx.balanced)
        if s.send_error_count:
            h = self._stats.GetHistogram(stats_pb2.GetHistogramRequest(name=self.name, percentiles=[50, 99, 100]), timeout=5).histogram
            stats["send_error_percentiles_ns"] = {q.percentile: q.value_ns for q in h.percentiles}
        return stats

    def stop(self):
        self.channel = self._channels.StopChannel(channel_pb2.StopChannelRequest(name=self.name), timeout=10).channel

    def close_socket(self):
        """Deletes the channel; returns its final counters."""
        final = self._channels.DeleteChannel(channel_pb2.DeleteChannelRequest(name=self.name), timeout=10).final_counters
        self._grpc.close()
        return dict(final)
