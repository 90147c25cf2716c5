using System.Buffers.Binary;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;

namespace RtUdp.Core.Tests.Integration;

/// <summary>Throughput mode (timing bulk) through a real engine: sent as fed, in ring order, nothing judged late.</summary>
[Collection(SerialCollection.Name)]
public sealed class BulkTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private const long ReceiveTimeoutNs = 2_000_000_000;

    [Fact]
    public void A_bulk_channel_sends_at_once_in_the_order_enqueued_whatever_the_packets_times()
    {
        using ChannelHandle rx = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), "bulk-rx"));
        using ChannelHandle tx = fixture.Client.CreateChannel(TestChannels.Sender(fixture.NextId(), "bulk-tx", rx.BoundLocal) with { Timing = TimingStrategy.Bulk });
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(rx.Id));
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(tx.Id));
        Assert.Equal(1, tx.Region.Mode.Bulk);
        tx.RequestReports();

        // Times a timed channel would send in the reverse order, one an hour away, and ones long past.
        const int count = 40;
        long now = Libc.MonotonicNow();
        for (int i = 0; i < count; i++)
        {
            long due = i % 4 == 0 ? now - 1_000_000_000 : now + 3_600_000_000_000L - (i * 1_000_000L);
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(Payload(i), due, packetId: i));
        }

        ChannelStats stats = Accounting.WaitFinished(tx, count, TimeSpan.FromSeconds(5));
        Assert.Equal(count, stats[ChannelCounter.Sent]);
        Assert.Equal(0, stats[ChannelCounter.Late]);
        Assert.Equal(0, stats[ChannelCounter.ArrivedLate]);
        Assert.Equal(0, stats[ChannelCounter.LateInEngine]);

        byte[] buffer = new byte[rx.Config.MaxPayload];
        for (int i = 0; i < count; i++)
        {
            Assert.True(rx.Receive(buffer, ReceiveTimeoutNs).HasValue, $"packet {i} of {count} did not arrive\n{Accounting.Describe(rx.ReadStats())}");
            Assert.Equal(i, BinaryPrimitives.ReadInt32LittleEndian(buffer));
        }

        // Each report's time is when the worker took the packet: every one sent, none late.
        var reports = new List<TxReport>();
        TxReport[] chunk = new TxReport[64];
        Wait.Until(() => { int n = tx.DrainReports(chunk); reports.AddRange(chunk.AsSpan(0, n).ToArray()); return reports.Count >= count; }, TimeSpan.FromSeconds(5), () => $"{count} reports (have {reports.Count})");
        Assert.All(reports, r => Assert.Equal((int)TxOutcome.Sent, r.Outcome));
        Assert.All(reports, r => Assert.InRange(r.DueNs, now, r.SentNs));
        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), reports.Select(r => r.PacketId));
        Accounting.AssertBalanced(tx, rx);
        fixture.Client.DeleteChannel(tx.Id);
        fixture.Client.DeleteChannel(rx.Id);
    }

    [Fact]
    public void A_timed_channel_is_not_bulk()
    {
        using ChannelHandle tx = fixture.Client.CreateChannel(TestChannels.Sender(fixture.NextId(), "timed-tx", new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 9)));
        Assert.Equal(0, tx.Region.Mode.Bulk);
        fixture.Client.DeleteChannel(tx.Id);
    }

    [Theory]
    [InlineData(LaunchTimeMode.Auto, LatePolicy.SendLate, "timing")]
    [InlineData(LaunchTimeMode.Off, LatePolicy.Drop, "late_policy")]
    public void Bulk_refuses_what_judges_packets_against_their_times(LaunchTimeMode launch, LatePolicy late, string field)
    {
        ChannelConfig config = TestChannels.Sender(1, "bulk", new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 9)) with
        {
            Timing = TimingStrategy.Bulk, LaunchTime = launch, LatePolicy = late,
        };
        Assert.Equal(field, config.Validate()?.Field);
    }

    private static byte[] Payload(int value)
    {
        byte[] payload = new byte[16];
        BinaryPrimitives.WriteInt32LittleEndian(payload, value);
        return payload;
    }
}
