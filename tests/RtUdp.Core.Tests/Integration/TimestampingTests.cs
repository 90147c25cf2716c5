using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.Native;
using RtUdp.Core.Timestamping;

namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// Kernel timestamps end to end through a real engine on loopback (software stamps only here), and
/// the hardware and launch-time paths' detection and refusal on a host without them.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class TimestampingTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private const int Packets = 100;

    private (ChannelHandle Rx, ChannelHandle Tx) Pair(string name, TimestampMode mode)
    {
        ChannelHandle rx = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), name + "-rx") with { Timestamps = mode });
        ChannelHandle tx = fixture.Client.CreateChannel(TestChannels.Sender(fixture.NextId(), name + "-tx", rx.BoundLocal) with { Timestamps = mode });
        fixture.Client.StartChannel(rx.Id);
        fixture.Client.StartChannel(tx.Id);
        tx.RequestReports();
        return (rx, tx);
    }

    private static List<(ReceivedPacket Packet, long DrainedAt)> Exchange(ChannelHandle tx, ChannelHandle rx)
    {
        long start = Libc.MonotonicNow() + 5_000_000;
        byte[] payload = new byte[64];
        for (int i = 0; i < Packets; i++)
        {
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(payload, start + (i * 200_000L), i, signal: false));
        }
        tx.Flush();
        var received = new List<(ReceivedPacket, long)>();
        byte[] buffer = new byte[2048];
        for (int i = 0; i < Packets; i++)
        {
            ReceivedPacket? packet = rx.Receive(buffer, 2_000_000_000);
            Assert.True(packet.HasValue, $"packet {i} not received");
            received.Add((packet.Value, Libc.MonotonicNow()));
        }
        Accounting.WaitFinished(tx, Packets);
        return received;
    }

    [Fact]
    public void Auto_on_loopback_stamps_in_software_through_every_stage()
    {
        (ChannelHandle rx, ChannelHandle tx) = Pair("ts-auto", TimestampMode.Auto);
        List<(ReceivedPacket Packet, long DrainedAt)> received = Exchange(tx, rx);
        // Stamps complete after the send: wait until every packet has its report.
        Wait.Until(() => tx.ReadStats()[ChannelCounter.SendErrorFromSoftware] + tx.ReadStats()[ChannelCounter.SendErrorFromWorker] == Packets, TimeSpan.FromSeconds(5), () => Accounting.Describe(tx.ReadStats()));
        ChannelStats stats = tx.ReadStats();

        Assert.Equal(TimestampMode.Software, (TimestampMode)stats.Mode.Timestamps);
        Assert.Equal("lo", stats.Mode.InterfaceName);
        Assert.Contains("software, not hardware", stats.Mode.NotesText, StringComparison.Ordinal);
        Assert.Equal(Packets, stats[ChannelCounter.TxStampsSoftware]);
        Assert.Equal(Packets, stats[ChannelCounter.SendErrorFromSoftware]);
        Assert.Equal(0, stats[ChannelCounter.TxStampsMissing]);
        Assert.Equal(0, stats[ChannelCounter.TxStampsUnmatched]);
        // lo emits a SCHED stamp before each SND stamp (measured on this kernel).
        Assert.Equal(Packets, stats[ChannelCounter.TxStampsSched]);
        foreach (ChannelHistogram stage in new[] { ChannelHistogram.StageWake, ChannelHistogram.StageSendCall, ChannelHistogram.StageSched, ChannelHistogram.StageSoftware })
        {
            Assert.Equal(Packets, stats.Histograms[stage].TotalCount);
        }
        Assert.Equal(0, stats.Histograms[ChannelHistogram.StageHardware].TotalCount);
        // Converted from CLOCK_REALTIME, the kernel's stamps follow the worker's clock read by microseconds, not milliseconds.
        Assert.InRange(stats.Histograms[ChannelHistogram.StageSched].ValueAtPercentile(50), 0, 1_000_000);
        Assert.InRange(stats.Histograms[ChannelHistogram.StageSoftware].ValueAtPercentile(50), 0, 1_000_000);

        Span<TxReport> reports = new TxReport[Packets];
        Assert.Equal(Packets, tx.DrainReports(reports));
        foreach (TxReport report in reports)
        {
            Assert.Equal((int)StampSource.Software, report.StampSource);
            Assert.True(report.WakeNs <= report.SentNs, "woke after sending");
            // A microsecond of slack for the realtime-to-monotonic conversion's uncertainty.
            Assert.True(report.SchedNs >= report.SentNs - 1_000 && report.SoftwareNs >= report.SchedNs, $"stages out of order: sent {report.SentNs}, sched {report.SchedNs}, snd {report.SoftwareNs}");
        }

        ChannelStats rxStats = rx.ReadStats();
        Assert.Equal(Packets, rxStats[ChannelCounter.RxStampsSoftware]);
        long previous = 0;
        foreach ((ReceivedPacket packet, long drainedAt) in received)
        {
            Assert.Equal((int)StampSource.Software, packet.StampSource);
            Assert.True(packet.KernelRealtimeNs > 0);
            Assert.Equal(0, packet.HardwareRawNs);
            Assert.True(packet.BestMonotonicNs >= previous, "RX stamps went backwards");
            // The kernel stamped it before the worker read it, and the worker before the drain.
            Assert.InRange(packet.BestMonotonicNs, packet.WorkerMonotonicNs - 50_000_000, packet.WorkerMonotonicNs + 1_000);
            Assert.True(packet.WorkerMonotonicNs <= drainedAt);
            previous = packet.BestMonotonicNs;
        }
        Assert.Equal(Packets, rxStats.Delivery.TotalCount);
        Accounting.AssertBalanced(tx, rx);
        fixture.Client.DeleteChannel(tx.Id);
        fixture.Client.DeleteChannel(rx.Id);
    }

    [Fact]
    public void Off_uses_the_workers_clock_and_says_so()
    {
        (ChannelHandle rx, ChannelHandle tx) = Pair("ts-off", TimestampMode.Off);
        List<(ReceivedPacket Packet, long DrainedAt)> received = Exchange(tx, rx);
        ChannelStats stats = tx.ReadStats();
        Assert.Equal(TimestampMode.Off, (TimestampMode)stats.Mode.Timestamps);
        Assert.Equal(Packets, stats[ChannelCounter.SendErrorFromWorker]);
        Assert.Equal(0, stats[ChannelCounter.TxStampsSoftware]);
        Assert.All(received, r => Assert.Equal((int)StampSource.Worker, r.Packet.StampSource));
        Assert.All(received, r => Assert.Equal(r.Packet.WorkerMonotonicNs, r.Packet.BestMonotonicNs));
        Assert.Equal(0, rx.ReadStats()[ChannelCounter.RxMissingTimestamp]);
        Accounting.AssertBalanced(tx, rx);
        fixture.Client.DeleteChannel(tx.Id);
        fixture.Client.DeleteChannel(rx.Id);
    }

    [Fact]
    public void Hardware_on_loopback_is_refused_naming_the_field()
    {
        var error = Assert.Throws<EngineCommandException>(() => fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), "ts-hw-rx") with { Timestamps = TimestampMode.Hardware }));
        Assert.Equal(EngineStatus.FailedPrecondition, error.Status);
        Assert.Equal("timestamps", error.Field);
        Assert.Contains("lo", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Launch_time_without_a_qdisc_is_refused_or_falls_back_to_user_space_timing()
    {
        using ChannelHandle rx = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), "lt-rx"));
        var error = Assert.Throws<EngineCommandException>(() => fixture.Client.CreateChannel(TestChannels.Sender(fixture.NextId(), "lt-required", rx.BoundLocal) with { LaunchTime = LaunchTimeMode.Required }));
        Assert.Equal(EngineStatus.FailedPrecondition, error.Status);
        Assert.Equal("launch_time", error.Field);
        Assert.Contains("noqueue", error.Message, StringComparison.Ordinal);

        using ChannelHandle tx = fixture.Client.CreateChannel(TestChannels.Sender(fixture.NextId(), "lt-auto", rx.BoundLocal) with { LaunchTime = LaunchTimeMode.Auto });
        ChannelModeBlock mode = tx.ReadStats().Mode;
        Assert.Equal(LaunchClock.None, (LaunchClock)mode.Launch);
        Assert.Contains("launch_time: user-space timing", mode.NotesText, StringComparison.Ordinal);
        Wait.Until(() => fixture.Log.Contains($"channel {tx.Id}: launch_time: user-space timing", StringComparison.Ordinal), TimeSpan.FromSeconds(5), () => "fallback logged:\n" + fixture.Log);
        fixture.Client.DeleteChannel(tx.Id);
        fixture.Client.DeleteChannel(rx.Id);
    }
}
