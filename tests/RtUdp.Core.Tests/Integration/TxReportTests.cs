using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;

namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// Per-packet TX reports are written only while the channel's reader asked for them
/// (<see cref="ChannelHandle.RequestReports"/>): nobody asking, the send worker writes none.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class TxReportTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>More packets than the report ring holds reports: unasked-for reports would overflow it.</summary>
    private static readonly int MoreThanTheRingHolds = (ChannelLayout.TxReportRingBytes / Unsafe.SizeOf<TxReport>()) + 1000;

    private static Socket Sink()
    {
        var sink = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sink.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return sink;
    }

    /// <summary>
    /// Timestamps off: a packet's report is then written as it is sent, before the batch's Sent count is
    /// published, so once a packet counts as sent its report (if any) is in the ring.
    /// </summary>
    private ChannelHandle Sender(string name, Socket sink)
    {
        ChannelConfig config = TestChannels.Sender(fixture.NextId(), name, (IPEndPoint)sink.LocalEndPoint!) with
        {
            Capacity = 4096,
            Timestamps = TimestampMode.Off,
        };
        ChannelHandle tx = fixture.Client.CreateChannel(config);
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(tx.Id));
        return tx;
    }

    private void Delete(ChannelHandle tx)
    {
        fixture.Client.DeleteChannel(tx.Id);
        tx.Dispose();
    }

    /// <summary>Enqueues packets due now with ids <paramref name="firstId"/>.., waiting for ring space as needed.</summary>
    private static void SendNow(ChannelHandle tx, long firstId, int count)
    {
        byte[] payload = new byte[32];
        long deadline = Libc.MonotonicNow() + (long)Timeout.TotalNanoseconds;
        for (int i = 0; i < count; i++)
        {
            EnqueueResult result;
            while ((result = tx.TryEnqueue(payload, Libc.MonotonicNow(), firstId + i)) == EnqueueResult.Full)
            {
                Assert.True(Libc.MonotonicNow() < deadline, $"the TX ring stayed full: {Accounting.Describe(tx.ReadStats())}");
                Thread.Yield();
            }
            Assert.Equal(EnqueueResult.Ok, result);
        }
    }

    private static List<TxReport> DrainAll(ChannelHandle tx, int expected)
    {
        var all = new List<TxReport>();
        TxReport[] buffer = new TxReport[512];
        Wait.Until(
            () =>
            {
                int n = tx.DrainReports(buffer);
                all.AddRange(buffer.AsSpan(0, n).ToArray());
                return all.Count >= expected;
            },
            Timeout,
            () => $"{expected} TX reports (have {all.Count})");
        Assert.Equal(0, tx.DrainReports(buffer));
        return all;
    }

    [Fact]
    public void Without_a_request_no_report_is_written_and_none_is_lost()
    {
        using Socket sink = Sink();
        ChannelHandle tx = Sender("reports-off", sink);
        Assert.False(tx.ReportsRequested);

        SendNow(tx, firstId: 0, MoreThanTheRingHolds);
        ChannelStats stats = Accounting.WaitFinished(tx, MoreThanTheRingHolds, Timeout);

        Assert.Equal(MoreThanTheRingHolds, stats[ChannelCounter.Sent]);
        Assert.Equal(0, tx.DrainReports(new TxReport[16]));
        Assert.Equal(0, stats[ChannelCounter.TxReportsLost]);
        Accounting.AssertBalanced(tx);
        Delete(tx);
    }

    [Fact]
    public void With_a_request_every_packet_gets_its_report_with_its_id()
    {
        using Socket sink = Sink();
        ChannelHandle tx = Sender("reports-on", sink);
        tx.RequestReports();
        Assert.True(tx.ReportsRequested);

        const int packets = 2000;
        const long firstId = 1_000_000;
        SendNow(tx, firstId, packets);
        Accounting.WaitFinished(tx, packets, Timeout);

        List<TxReport> reports = DrainAll(tx, packets);
        Assert.Equal(Enumerable.Range(0, packets).Select(i => firstId + i), reports.Select(r => r.PacketId).Order());
        Assert.All(reports, r => Assert.True(r.Outcome is (int)TxOutcome.Sent or (int)TxOutcome.SentLate, $"packet {r.PacketId}: outcome {r.Outcome}"));
        Assert.All(reports, r => Assert.True(r.SentNs >= r.DueNs, $"packet {r.PacketId} left before it was due"));
        Assert.Equal(0, tx.ReadStats()[ChannelCounter.TxReportsLost]);
        Delete(tx);
    }

    [Fact]
    public void Withdrawing_the_request_stops_the_reports()
    {
        using Socket sink = Sink();
        ChannelHandle tx = Sender("reports-withdrawn", sink);
        tx.RequestReports();
        SendNow(tx, firstId: 0, 100);
        Accounting.WaitFinished(tx, 100, Timeout);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), DrainAll(tx, 100).Select(r => r.PacketId).Order());

        tx.RequestReports(false);
        SendNow(tx, firstId: 100, 100);
        Accounting.WaitFinished(tx, 200, Timeout);
        // Sent is published after the batch's reports would have been written: none by now means none at all.
        Assert.Equal(0, tx.DrainReports(new TxReport[16]));
        Delete(tx);
    }
}
