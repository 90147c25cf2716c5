using System.Net;
using System.Net.Sockets;
using Google.Protobuf.WellKnownTypes;
using RtUdp.V1;
using static RtUdp.Bench.Util;

namespace RtUdp.Bench;

/// <summary>
/// Part 6: a daemon-side generator's send error (GeneratorService: the daemon enqueues a look-ahead
/// window ahead of the due times) beside the engine's 1 kHz figure with every packet enqueued up front
/// by the client (the grpc part's DaemonTiming), both on channels of the same rtudpd, back to back.
/// </summary>
internal sealed partial class Parts
{
    public void Generator()
    {
        using Socket sink = Sink();
        IPEndPoint remote = EndPoint(sink);
        using DaemonProcess daemon = DaemonProcess.Start(_engineLog);
        Percentiles baseline = DaemonTiming(daemon, remote, out string baselineDetail);
        Percentiles oneK = GeneratorTiming(daemon, remote, 1_000_000, 20, out string oneKDetail);
        Percentiles tenK = GeneratorTiming(daemon, remote, 100_000, 20, out string tenKDetail);
        Percentiles tenK50 = GeneratorTiming(daemon, remote, 100_000, 50, out string tenK50Detail);
        Percentiles baselineAfter = DaemonTiming(daemon, remote, out string afterDetail);
        long baseP999 = (baseline.P999 + baselineAfter.P999) / 2;
        string reference = $"{baseline.Format()} before, {baselineAfter.Format()} after (1 kHz, every packet enqueued up front by the client){baselineDetail}{afterDetail}";
        Rows.Add(new Row("6 generator", $"10 kHz periodic generator (look-ahead 20 ms) send error p50/p99/p99.9/max us, channel CPU {SendCpu} FIFO {Priority}, Hybrid margin 100 us ({S}){tenKDetail}",
            tenK.Format(), reference, "p99.9 " + Ratio(tenK.P999, baseP999) + " of baseline mean", "p99.9 <= 1.25x baseline", Verdict(tenK.P999 <= baseP999 * 1.25)));
        Rows.Add(new Row("6 generator", $"1 kHz periodic generator, same settings ({S}){oneKDetail}",
            oneK.Format(), "as above", "p99.9 " + Ratio(oneK.P999, baseP999) + " of baseline mean", "-", "- (diagnostic)"));
        Rows.Add(new Row("6 generator", $"10 kHz periodic generator, look-ahead 50 ms ({S}){tenK50Detail}",
            tenK50.Format(), "as above", "p99.9 " + Ratio(tenK50.P999, baseP999) + " of baseline mean", "-", "- (diagnostic)"));
    }

    /// <summary>A periodic generator for the run's duration on a fresh channel; its channel's send-error percentiles.</summary>
    private Percentiles GeneratorTiming(DaemonProcess daemon, IPEndPoint remote, long periodNs, int lookaheadMs, out string detail)
    {
        long count = (long)(seconds * 1e9 / periodNs);
        Channel config = IngestChannel(remote, SendCpu, Priority);
        config.TxRingBytes = 0;
        Channel channel = daemon.Create(NextGrpcId("generator"), config);
        Thread.Sleep(200); // the worker is up, pinned and warmed
        double cpu0 = daemon.CpuSeconds();
        Generator generator = daemon.Generators.StartGenerator(new StartGeneratorRequest
        {
            Parent = channel.Name,
            Spec = new GeneratorSpec
            {
                Periodic = new PeriodicSchedule { Period = Duration.FromTimeSpan(TimeSpan.FromTicks(periodNs / 100)) },
                Payload = new PayloadSpec { Size = 64, IndexPrefix = true },
                Count = count,
                StartDelay = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(100)),
                Lookahead = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(lookaheadMs)),
            },
        }).Generator;
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds + 10);
        while (generator.State == GeneratorState.Running && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(50);
            generator = daemon.Generators.GetGenerator(new GetGeneratorRequest { Name = generator.Name }).Generator;
        }
        double cpu1 = daemon.CpuSeconds();
        RtUdp.V1.ChannelStats stats;
        do
        {
            stats = daemon.GetStats(channel.Name);
            if (stats.Tx.Pending == 0)
            {
                break;
            }
            Thread.Sleep(20);
        }
        while (DateTime.UtcNow < deadline);
        Histogram histogram = daemon.Stats.GetHistogram(new GetHistogramRequest
        {
            Name = channel.Name,
            Kind = HistogramKind.SendError,
            Percentiles = { 50, 99, 99.9, 100 },
        }).Histogram;
        daemon.Channels.DeleteChannel(new DeleteChannelRequest { Name = channel.Name });
        GeneratorCounters c = generator.Counters;
        detail = $" [{generator.State.ToString().ToLowerInvariant()}: {c.Enqueued:N0} of {count:N0} enqueued, {c.EnqueuedLate} late, {c.FullWaits} full waits; "
            + $"sent {stats.Tx.Sent:N0}; rtudpd used {F((cpu1 - cpu0) / seconds * 100, "0")}% of a CPU]";
        long At(double p) => histogram.Percentiles.First(x => Math.Abs(x.Percentile_ - p) < 1e-9).ValueNs;
        return new Percentiles(histogram.TotalCount, At(50), At(99), At(99.9), histogram.MaxNs);
    }
}
