namespace RtUdp.Daemon.Tests.Api;

/// <summary>
/// A client in another language: Debian's python3-grpcio with stubs generated from protos/ at test time
/// (protoc + grpc_python_plugin) runs the seed's flow and the health check over the unix socket.
/// Needs: apt-get install -y python3-grpcio python3-protobuf protobuf-compiler protobuf-compiler-grpc libprotobuf-dev grpc-proto.
/// </summary>
[Collection(DaemonCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PythonClientTests(DaemonFixture daemon, Xunit.Abstractions.ITestOutputHelper log)
{
    private const string Packages = "python3-grpcio python3-protobuf protobuf-compiler protobuf-compiler-grpc libprotobuf-dev grpc-proto";
    private const string Python = "/usr/bin/python3";
    private const string Protoc = "/usr/bin/protoc";
    private const string Plugin = "/usr/bin/grpc_python_plugin";
    private const string HealthProto = "/usr/share/grpc-proto/grpc/health/v1/health.proto";
    // google/api/annotations.proto imports it; protobuf-compiler only recommends the package that has it.
    private const string DescriptorProto = "/usr/include/google/protobuf/descriptor.proto";

    [Fact]
    public async Task Python_grpcio_client_runs_the_seed_flow_and_the_health_check()
    {
        foreach (string tool in new[] { Python, Protoc, Plugin, HealthProto, DescriptorProto })
        {
            RtUdp.Testing.Tool.RequireFile(tool, Packages);
        }
        string work = Path.Combine(Path.GetTempPath(), $"rtudp-python-{Guid.NewGuid():N}");
        string output = Path.Combine(work, "out");
        string extra = Path.Combine(work, "ext");
        Directory.CreateDirectory(output);
        Directory.CreateDirectory(Path.Combine(extra, "health", "v1"));
        try
        {
            // Debian's grpcio has no health module, and stubs under grpc/health would be hidden by
            // the real grpc package: generate health.proto as health/v1 (the wire name is unchanged).
            File.Copy(HealthProto, Path.Combine(extra, "health", "v1", "health.proto"));
            string protos = FindProtos();
            var protocArgs = new List<string> { "-I", protos, "-I", extra, "--python_out=" + output, "--grpc_out=" + output, "--plugin=protoc-gen-grpc=" + Plugin };
            // Every .proto under protos/: rtudp/v1 and the vendored google/api (HTTP annotations) they import.
            protocArgs.AddRange(Directory.GetFiles(protos, "*.proto", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(protos, f)).Order(StringComparer.Ordinal));
            protocArgs.Add("health/v1/health.proto");
            (int protocExit, string protocOutput) = await RunAsync(Protoc, protocArgs, work);
            Assert.True(protocExit == 0, "protoc failed:\n" + protocOutput);

            string script = Path.Combine(work, "seed_flow.py");
            await File.WriteAllTextAsync(script, Script);
            (int exit, string text) = await RunAsync(Python, [script, daemon.SocketPath], work, ("PYTHONPATH", output));
            log.WriteLine(text);
            Assert.True(exit == 0, $"python exited with {exit}:\n{text}\n--- daemon log ---\n{daemon.Log}");
            Assert.Contains("health: SERVING", text, StringComparison.Ordinal);
            Assert.Contains("received: b'hello from python' from 127.0.0.1", text, StringComparison.Ordinal);
            Assert.Contains("stats: sent 1", text, StringComparison.Ordinal);
            Assert.Contains("OK", text, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static string FindProtos()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "protos");
            if (Directory.Exists(Path.Combine(candidate, "rtudp", "v1")))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException("protos/rtudp/v1 not found above " + AppContext.BaseDirectory);
    }

    private static async Task<(int Exit, string Output)> RunAsync(string file, IEnumerable<string> args, string directory, params (string Name, string Value)[] environment)
    {
        ProcessResult result = await ProcessRunner.RunAsync(file, args, TimeSpan.FromSeconds(30),
            environment: environment.ToDictionary(v => v.Name, v => (string?)v.Value), workingDirectory: directory);
        return (result.ExitCode, result.Stdout + result.Stderr);
    }

    private const string Script = """
        import sys, time
        import grpc
        from google.protobuf import duration_pb2
        from health.v1 import health_pb2, health_pb2_grpc
        from rtudp.v1 import channel_pb2, channel_pb2_grpc, common_pb2, packet_pb2, packet_pb2_grpc
        from rtudp.v1 import stats_pb2, stats_pb2_grpc, clock_pb2, clock_pb2_grpc

        socket = sys.argv[1]
        with grpc.insecure_channel("unix:" + socket) as ch:
            health = health_pb2_grpc.HealthStub(ch)
            status = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status
            print("health:", health_pb2.HealthCheckResponse.ServingStatus.Name(status))
            assert status == health_pb2.HealthCheckResponse.SERVING

            channels = channel_pb2_grpc.ChannelServiceStub(ch)
            packets = packet_pb2_grpc.PacketServiceStub(ch)
            stats = stats_pb2_grpc.StatsServiceStub(ch)
            clock = clock_pb2_grpc.ClockServiceStub(ch)

            rx = channels.CreateChannel(channel_pb2.CreateChannelRequest(channel_id="py-rx", start=True, channel=channel_pb2.Channel(
                direction=channel_pb2.CHANNEL_DIRECTION_RECEIVE, local=common_pb2.Endpoint(address="127.0.0.1", port=0),
                capacity=1024, max_payload=2048, priority=0)), timeout=10).channel
            tx = channels.CreateChannel(channel_pb2.CreateChannelRequest(channel_id="py-tx", start=True, channel=channel_pb2.Channel(
                direction=channel_pb2.CHANNEL_DIRECTION_SEND, local=common_pb2.Endpoint(address="127.0.0.1", port=0),
                remote=rx.bound_local, capacity=1024, max_payload=2048, priority=0)), timeout=10).channel
            print("channels:", rx.name, channel_pb2.ChannelState.Name(rx.state), tx.name, channel_pb2.ChannelState.Name(tx.state))

            now = clock.GetClock(clock_pb2.GetClockRequest(), timeout=5).monotonic_ns
            packets.Send(packet_pb2.SendRequest(channel=tx.name, packets=[
                packet_pb2.OutgoingPacket(payload=b"hello from python", monotonic_ns=now + 1000000, packet_id=1)]), timeout=5)

            got = packets.Receive(packet_pb2.ReceiveRequest(channel=rx.name, max_count=1,
                timeout=duration_pb2.Duration(seconds=2)), timeout=10).packets
            assert len(got) == 1, "no packet within 2 s"
            p = got[0]
            print("received:", p.payload, "from", p.source.address, "stamp", common_pb2.StampSource.Name(p.stamp_source),
                  common_pb2.ClockDomain.Name(p.clock_domain), "late by", p.monotonic_ns - (now + 1000000), "ns")
            assert p.payload == b"hello from python"
            assert p.monotonic_ns >= now + 1000000

            for _ in range(500):
                s = stats.GetStats(stats_pb2.GetStatsRequest(name=tx.name), timeout=5).stats
                if s.tx.sent == 1:
                    break
                time.sleep(0.01)
            print("stats: sent", s.tx.sent, "enqueued", s.tx.enqueued, "balanced", s.tx.balanced, "max send error", s.send_error_max_ns, "ns")
            assert s.tx.sent == 1 and s.tx.balanced

            h = stats.GetHistogram(stats_pb2.GetHistogramRequest(name=tx.name, kind=stats_pb2.HISTOGRAM_KIND_SEND_ERROR, percentiles=[50, 99, 100]), timeout=5).histogram
            print("histogram:", h.total_count, "samples,", ", ".join("p%g=%d ns" % (q.percentile, q.value_ns) for q in h.percentiles))
            assert h.total_count == 1 and h.percentiles[-1].value_ns == h.max_ns and len(h.hdr_histogram_base64) > 0

            try:
                packets.Send(packet_pb2.SendRequest(channel=rx.name, packets=[packet_pb2.OutgoingPacket(payload=b"x")]), timeout=5)
                raise SystemExit("sending on a receiving channel succeeded")
            except grpc.RpcError as e:
                print("send on rx:", e.code().name)
                assert e.code() == grpc.StatusCode.FAILED_PRECONDITION

            for c in (tx, rx):
                channels.DeleteChannel(channel_pb2.DeleteChannelRequest(name=c.name), timeout=10)
            print("OK")
        """;
}
