using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using RtUdp.Core.Capabilities;
using RtUdp.Core.Native;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Api;

[Collection(DaemonCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class StatsClockCapabilityTests(DaemonFixture daemon)
{
    private readonly Clients _api = new(daemon.Tcp);

    [Fact]
    public async Task WatchStats_streams_at_the_interval_until_cancelled()
    {
        Channel rx = await _api.CreateReceiverAsync(Clients.UniqueId("watch-rx"));
        Channel tx = await _api.CreateSenderAsync(Clients.UniqueId("watch-tx"), rx.BoundLocal);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using AsyncServerStreamingCall<WatchStatsResponse> watch = _api.Stats.WatchStats(
            new WatchStatsRequest { Name = tx.Name, Interval = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(50)) }, cancellationToken: cancel.Token);

        var messages = new List<WatchStatsResponse>();
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (messages.Count < 5)
        {
            Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
            messages.Add(watch.ResponseStream.Current);
            if (messages.Count == 2)
            {
                await _api.Packets.SendAsync(new SendRequest { Channel = tx.Name, Packets = { new OutgoingPacket { Payload = ByteString.CopyFromUtf8("w") } } });
            }
        }
        Assert.InRange(started.ElapsedMilliseconds, 150, 5000);
        Assert.Equal(0, messages[0].Stats.Tx.Enqueued);
        Assert.Equal(1, messages[^1].Stats.Tx.Enqueued);
        Assert.All(messages, m => Assert.Equal(tx.Name, m.Stats.Channel));
        Assert.True(messages.Zip(messages.Skip(1)).All(p => p.Second.Stats.ReadMonotonicNs > p.First.Stats.ReadMonotonicNs));
        Assert.Equal(V1.WorkerState.Running, messages[^1].Stats.Sender.State);
        await cancel.CancelAsync();

        await RpcAssert.InvalidAsync(() => _api.Stats.WatchStats(new WatchStatsRequest { Name = tx.Name, Interval = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(1)) }).ResponseStream.MoveNext(), "interval");
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => _api.Stats.WatchStats(new WatchStatsRequest { Name = "channels/nothing-here" }).ResponseStream.MoveNext());
        await _api.DeleteAsync(tx, rx);
    }

    [Fact]
    public async Task GetHistogram_validates_kind_and_percentiles()
    {
        Channel rx = await _api.CreateReceiverAsync(Clients.UniqueId("hist-rx"));
        await RpcAssert.InvalidAsync(() => _api.Stats.GetHistogramAsync(new GetHistogramRequest { Name = rx.Name, Kind = (HistogramKind)99, Percentiles = { 50, 101, double.NaN } }).ResponseAsync,
            "kind", "percentiles[1]", "percentiles[2]");
        Histogram empty = (await _api.Stats.GetHistogramAsync(new GetHistogramRequest { Name = rx.Name, Kind = HistogramKind.StageWake })).Histogram;
        Assert.Equal(0, empty.TotalCount);
        Assert.Empty(empty.Buckets);
        Assert.All(empty.Percentiles, p => Assert.Equal(0, p.ValueNs));
        Assert.Empty(RtUdp.Daemon.Api.HdrHistogramEncoding.DecodeCounts(empty.HdrHistogramV2.Span));
        await _api.DeleteAsync(rx);
    }

    [Fact]
    public async Task GetClock_reads_the_hosts_clocks()
    {
        long before = Libc.MonotonicNow();
        GetClockResponse clock = await _api.Clock.GetClockAsync(new GetClockRequest());
        long after = Libc.MonotonicNow();
        Assert.InRange(clock.MonotonicNs, before, after);
        Assert.InRange((clock.Realtime.ToDateTime() - DateTime.UtcNow).Duration().TotalSeconds, 0, 2);
        Assert.Equal(TaiOffset.Read(), clock.TaiOffsetSeconds);
        Assert.Equal(clock.TaiOffsetSeconds, clock.Tai.Seconds - clock.Realtime.Seconds);
        Assert.InRange(clock.ReadUncertaintyNs, 0, 10_000_000);
        Assert.False(string.IsNullOrEmpty(clock.ClockState));
    }

    [Fact]
    public async Task GetCapabilities_serves_the_engines_report()
    {
        GetCapabilitiesResponse caps = await _api.Capabilities.GetCapabilitiesAsync(new GetCapabilitiesRequest());
        Assert.Equal(Environment.ProcessorCount, caps.Host.ProcessCpuCount);
        Assert.False(string.IsNullOrEmpty(caps.Host.KernelRelease));
        V1.InterfaceCapabilities lo = Assert.Single(caps.Interfaces, i => i.Name == "lo");
        Assert.True(lo.SoftwareTimestamping);
        Assert.Contains("software-receive", lo.SoTimestamping);
        Assert.Equal(-1, lo.PhcIndex);
        Assert.Equal(caps.Host.TaiOffsetSeconds, TaiOffset.Read());
        CapabilityReport report = CapabilityReport.FromJson(caps.Json);
        Assert.Equal(report.Interfaces.Count, caps.Interfaces.Count);
    }
}
