using RtUdp.Core.Capabilities;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.Native;
using RtUdp.Core.Timestamping;

namespace RtUdp.Core.Tests.Integration;

/// <summary>An engine told to plan as if every interface had an fq qdisc (testing only).</summary>
public sealed class FqEngineFixture : IDisposable
{
    public EngineFixture Engine { get; } = EngineFixture.StartWith("--assume-launch-qdisc", "fq");

    public void Dispose() => Engine.Dispose();
}

/// <summary>An engine told to plan as if every interface had an etf qdisc (testing only).</summary>
public sealed class EtfEngineFixture : IDisposable
{
    public EngineFixture Engine { get; } = EngineFixture.StartWith("--assume-launch-qdisc", "etf");

    public void Dispose() => Engine.Dispose();
}

/// <summary>
/// The launch-time send path (SO_TXTIME + SCM_TXTIME per packet). This host has no etf/fq qdisc, so
/// the engine is told to assume one; the kernel then accepts each packet's time and, with no qdisc
/// to honour it, sends at once: what these tests see is the engine handing packets over a lead
/// ahead with the right time attached, in the right clock, never decreasing.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class LaunchTimeTests(FqEngineFixture fq, EtfEngineFixture etf) : IClassFixture<FqEngineFixture>, IClassFixture<EtfEngineFixture>
{
    private const long Lead = 20_000_000;

    private static (ChannelHandle Rx, ChannelHandle Tx) Pair(EngineFixture fixture, string name, ChannelFlags flags = ChannelFlags.None)
    {
        ChannelHandle rx = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), name + "-rx"));
        ChannelHandle tx = fixture.Client.CreateChannel(TestChannels.Sender(fixture.NextId(), name + "-tx", rx.BoundLocal) with
        {
            LaunchTime = LaunchTimeMode.Required,
            LaunchLeadNs = Lead,
            Flags = flags,
        });
        fixture.Client.StartChannel(rx.Id);
        fixture.Client.StartChannel(tx.Id);
        tx.RequestReports();
        return (rx, tx);
    }

    private static TxReport[] SendAndReport(ChannelHandle tx, ChannelHandle rx, int packets, long firstDue, long spacing)
    {
        for (int i = 0; i < packets; i++)
        {
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(new byte[32], firstDue + (i * spacing), i, signal: false));
        }
        tx.Flush();
        byte[] buffer = new byte[2048];
        for (int i = 0; i < packets; i++)
        {
            Assert.NotNull(rx.Receive(buffer, 2_000_000_000));
        }
        var reports = new List<TxReport>();
        TxReport[] chunk = new TxReport[64];
        Wait.Until(() =>
        {
            int n = tx.DrainReports(chunk);
            for (int i = 0; i < n; i++)
            {
                reports.Add(chunk[i]);
            }
            return reports.Count >= packets;
        }, TimeSpan.FromSeconds(5), () => $"{reports.Count} of {packets} reports");
        return [.. reports];
    }

    [Fact]
    public void Fq_packets_are_handed_over_a_lead_ahead_with_their_monotonic_time()
    {
        (ChannelHandle rx, ChannelHandle tx) = Pair(fq.Engine, "lt-fq");
        ChannelStats stats = tx.ReadStats();
        Assert.Equal(LaunchClock.Monotonic, (LaunchClock)stats.Mode.Launch);
        Assert.Equal("fq", stats.Mode.QdiscKind);
        Assert.Contains("fq assumed for testing", stats.Mode.NotesText, StringComparison.Ordinal);

        long firstDue = Libc.MonotonicNow() + 60_000_000;
        TxReport[] reports = SendAndReport(tx, rx, 20, firstDue, 2_000_000);
        foreach (TxReport report in reports)
        {
            Assert.Equal(report.DueNs, report.LaunchTimeNs);
            // Handed to the kernel no earlier than a lead ahead, and ahead of its time.
            Assert.InRange(report.SentNs, report.DueNs - Lead, report.DueNs - 1);
        }
        Assert.Equal(0, tx.ReadStats()[ChannelCounter.LaunchReordered]);
        Accounting.AssertBalanced(tx, rx);
        fq.Engine.Client.DeleteChannel(tx.Id);
        fq.Engine.Client.DeleteChannel(rx.Id);
    }

    [Fact]
    public void A_packet_due_before_one_already_handed_over_takes_the_later_time()
    {
        (ChannelHandle rx, ChannelHandle tx) = Pair(fq.Engine, "lt-order");
        // The second packet must be due earlier than the one the kernel already holds (which went over a lead
        // ahead) and still in the future: 15 ms after the first's report. A loaded machine may take longer to
        // deliver that report; then the first is simply sent again later (a later time reorders nothing).
        TxReport first = default;
        long earlier = 0;
        for (int attempt = 0; attempt < 5 && earlier == 0; attempt++)
        {
            first = Assert.Single(SendAndReport(tx, rx, 1, Libc.MonotonicNow() + Lead + 30_000_000, 0));
            if (Libc.MonotonicNow() < first.DueNs - 5_000_000)
            {
                earlier = first.DueNs - 5_000_000;
            }
        }
        Assert.True(earlier != 0, "test thread too slow five times: inconclusive");
        TxReport second = Assert.Single(SendAndReport(tx, rx, 1, earlier, 0));
        Assert.Equal(earlier, second.DueNs);
        Assert.Equal(first.LaunchTimeNs, second.LaunchTimeNs);
        Assert.Equal(1, tx.ReadStats()[ChannelCounter.LaunchReordered]);
        fq.Engine.Client.DeleteChannel(tx.Id);
        fq.Engine.Client.DeleteChannel(rx.Id);
    }

    [Fact]
    public void Etf_schedules_in_tai_and_a_zero_tai_offset_needs_consent()
    {
        EngineFixture engine = etf.Engine;
        int taiOffset = TaiOffset.Read();
        using ChannelHandle probe = engine.Client.CreateChannel(TestChannels.Receiver(engine.NextId(), "lt-etf-probe"));
        if (taiOffset == 0)
        {
            var refusal = Assert.Throws<EngineCommandException>(() => engine.Client.CreateChannel(TestChannels.Sender(engine.NextId(), "lt-etf-strict", probe.BoundLocal) with { LaunchTime = LaunchTimeMode.Required }));
            Assert.Equal("launch_time", refusal.Field);
            Assert.Contains("TAI offset is 0", refusal.Message, StringComparison.Ordinal);
        }
        engine.Client.DeleteChannel(probe.Id);

        (ChannelHandle rx, ChannelHandle tx) = Pair(engine, "lt-etf", ChannelFlags.AllowZeroTaiOffset);
        Assert.Equal(LaunchClock.Tai, (LaunchClock)tx.ReadStats().Mode.Launch);
        TxReport[] reports = SendAndReport(tx, rx, 10, Libc.MonotonicNow() + 50_000_000, 1_000_000);
        long taiMinusMonotonic = ClockSampler.Sample(Libc.CLOCK_REALTIME).OffsetNs + (taiOffset * 1_000_000_000L);
        foreach (TxReport report in reports)
        {
            Assert.InRange(report.LaunchTimeNs - report.DueNs, taiMinusMonotonic - 1_000_000, taiMinusMonotonic + 1_000_000);
        }
        engine.Client.DeleteChannel(tx.Id);
        engine.Client.DeleteChannel(rx.Id);
    }
}
