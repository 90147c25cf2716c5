using System.Net;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;
using Xunit.Abstractions;

namespace RtUdp.Core.Tests.Integration;

/// <summary>The seed flow across a veth pair between two engines in two network namespaces.</summary>
public sealed class NamespaceTests(NamespacePairFixture pair, ITestOutputHelper output) : IClassFixture<NamespacePairFixture>
{
    [Fact]
    public void Packet_crosses_veth_between_engines_in_two_namespaces()
    {
        if (pair.SkipReason is { } reason)
        {
            output.WriteLine($"SKIPPED: {reason}");
            return;
        }
        EngineFixture a = pair.EngineA!;
        EngineFixture b = pair.EngineB!;
        Assert.Equal(pair.NamespaceA, pair.Identify(a.Engine.Pid));
        Assert.Equal(pair.NamespaceB, pair.Identify(b.Engine.Pid));

        using ChannelHandle rx = b.Client.CreateChannel(new ChannelConfig
        {
            Id = b.NextId(),
            Name = "ns-rx",
            Direction = ChannelDirection.Receive,
            Local = new IPEndPoint(pair.AddressB, 0),
            Capacity = 1024,
            MaxPayload = 2048,
        });
        Assert.Equal(pair.AddressB, rx.BoundLocal.Address);
        using ChannelHandle tx = a.Client.CreateChannel(new ChannelConfig
        {
            Id = a.NextId(),
            Name = "ns-tx",
            Direction = ChannelDirection.Send,
            Local = new IPEndPoint(pair.AddressA, 0),
            Remote = rx.BoundLocal,
            Capacity = 1024,
            MaxPayload = 2048,
        });
        Assert.Equal(pair.AddressA, tx.BoundLocal.Address);
        Assert.Equal(ChannelState.Running, b.Client.StartChannel(rx.Id));
        Assert.Equal(ChannelState.Running, a.Client.StartChannel(tx.Id));
        tx.RequestReports();

        byte[] payload = "across the veth"u8.ToArray();
        long due = Libc.MonotonicNow() + 1_000_000;
        Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(payload, due, packetId: 7));

        byte[] buffer = new byte[2048];
        // The first packet waits for ARP on the new link: allow for it.
        ReceivedPacket? packet = rx.Receive(buffer, timeoutNs: 3_000_000_000);
        long receivedAt = Libc.MonotonicNow();
        Assert.True(packet.HasValue, $"no packet within 3 s\ntx: {Accounting.Describe(tx.ReadStats())}\nrx: {Accounting.Describe(rx.ReadStats())}\nA:\n{a.Log}\nB:\n{b.Log}");
        Assert.Equal(payload, buffer.AsSpan(0, packet.Value.Length).ToArray());
        Assert.Equal(tx.BoundLocal, packet.Value.Source);
        Assert.True(packet.Value.KernelRealtimeNs > 0, "kernel RX timestamp missing");
        Assert.Equal((int)RtUdp.Core.Timestamping.StampSource.Software, packet.Value.StampSource);
        Assert.InRange(packet.Value.BestMonotonicNs, due, receivedAt);
        Assert.True(receivedAt >= due, "received before it was due");

        ChannelStats stats = Accounting.WaitFinished(tx, 1);
        Assert.Equal(1, stats[ChannelCounter.Sent]);
        Assert.Equal(1, stats[ChannelCounter.Enqueued]);
        Assert.Equal(0, stats.Pending);
        Assert.Equal(1, stats.SendError.TotalCount);
        Assert.True(stats.SendError.Max >= 0 && stats.SendError.Max < 1_000_000_000, $"send error max {stats.SendError.Max} ns");
        output.WriteLine($"{pair.NamespaceA} {tx.BoundLocal} -> {pair.NamespaceB} {rx.BoundLocal}: send error max {stats.SendError.Max} ns");

        Span<TxReport> reports = stackalloc TxReport[4];
        Assert.Equal(1, tx.DrainReports(reports));
        Assert.Equal(7, reports[0].PacketId);
        Assert.Equal(due, reports[0].DueNs);
        Assert.True(reports[0].SentNs >= due);
        // veth stamps in software too: the send error comes from the kernel's SND stamp.
        Assert.Equal((int)RtUdp.Core.Timestamping.StampSource.Software, reports[0].StampSource);
        Assert.InRange(reports[0].SoftwareNs, reports[0].SentNs - 1_000, receivedAt);
        Assert.Equal((int)TimestampMode.Software, stats.Mode.Timestamps);
        Assert.StartsWith("rtudp-v", stats.Mode.InterfaceName, StringComparison.Ordinal);

        Accounting.WaitReceiverIdle(rx);
        ChannelStats rxStats = rx.ReadStats();
        Assert.Equal(1, rxStats[ChannelCounter.Received]);
        Assert.Equal(1, rxStats[ChannelCounter.Drained]);
        Assert.Equal(1, rxStats.Delivery.TotalCount);
        Accounting.AssertBalanced(tx, rx);

        a.Client.DeleteChannel(tx.Id);
        b.Client.DeleteChannel(rx.Id);
    }

    [Fact]
    public void Each_reports_software_TX_stamp_precedes_the_receivers_RX_stamp_of_the_same_packet_across_the_veth()
    {
        if (pair.SkipReason is { } reason)
        {
            output.WriteLine($"SKIPPED: {reason}");
            return;
        }
        EngineFixture a = pair.EngineA!;
        EngineFixture b = pair.EngineB!;
        using ChannelHandle rx = b.Client.CreateChannel(new ChannelConfig { Id = b.NextId(), Name = "ns-oc-rx", Direction = ChannelDirection.Receive, Local = new IPEndPoint(pair.AddressB, 0), Capacity = 1024, MaxPayload = 2048 });
        using ChannelHandle tx = a.Client.CreateChannel(new ChannelConfig { Id = a.NextId(), Name = "ns-oc-tx", Direction = ChannelDirection.Send, Local = new IPEndPoint(pair.AddressA, 0), Remote = rx.BoundLocal, Capacity = 1024, MaxPayload = 2048 });
        b.Client.StartChannel(rx.Id);
        a.Client.StartChannel(tx.Id);
        tx.RequestReports();
        const int Count = 200;
        byte[] payload = new byte[64];
        long start = Libc.MonotonicNow() + 50_000_000; // after ARP on the new link
        long enqueuedBy = 0;
        for (int i = 1; i <= Count; i++)
        {
            BitConverter.TryWriteBytes(payload, (long)i);
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(payload, start + (i * 200_000L), i, clientTag: 42));
            enqueuedBy = Libc.MonotonicNow();
        }

        // The receiver's RX stamps by the id in the payload.
        var rxStamps = new Dictionary<long, long>();
        byte[] buffer = new byte[2048];
        while (rxStamps.Count < Count)
        {
            ReceivedPacket? packet = rx.Receive(buffer, timeoutNs: 3_000_000_000);
            Assert.True(packet.HasValue, $"{rxStamps.Count} of {Count} arrived\ntx: {Accounting.Describe(tx.ReadStats())}");
            Assert.Equal((int)RtUdp.Core.Timestamping.StampSource.Software, packet.Value.StampSource);
            Assert.True(rxStamps.TryAdd(BitConverter.ToInt64(buffer, 0), packet.Value.BestMonotonicNs), "a packet arrived twice");
        }
        Accounting.WaitFinished(tx, Count);
        var reports = new List<TxReport>();
        var chunk = new TxReport[64];
        Wait.Until(() =>
        {
            int n = tx.DrainReports(chunk);
            reports.AddRange(chunk.AsSpan(0, n).ToArray());
            return reports.Count >= Count;
        }, TimeSpan.FromSeconds(10), () => $"{reports.Count} of {Count} reports");
        Assert.Equal(Enumerable.Range(1, Count).Select(i => (long)i), reports.Select(r => r.PacketId).Order());
        long worst = 0;
        foreach (TxReport r in reports)
        {
            Assert.True(r.Outcome is (int)TxOutcome.Sent or (int)TxOutcome.SentLate, $"outcome {r.Outcome}");
            Assert.Equal(42, r.ClientTag);
            Assert.True(r.IngestNs > 0 && r.IngestNs <= r.SentNs && r.IngestNs <= enqueuedBy + 1_000_000_000, $"ingest {r.IngestNs}");
            Assert.Equal(0, r.Flags & TxReportFlags.ArrivedLate);
            long delay = rxStamps[r.PacketId] - r.SoftwareNs;
            // The SND stamp is taken before the peer's RX stamp; veth delivers within the machine's scheduling noise.
            Assert.True(delay > 0 && delay < 20_000_000, $"packet {r.PacketId}: RX stamp {delay} ns after the TX stamp");
            worst = Math.Max(worst, delay);
        }
        output.WriteLine($"TX SND stamp to RX stamp across the veth: worst {worst} ns over {Count} packets");
        a.Client.DeleteChannel(tx.Id);
        b.Client.DeleteChannel(rx.Id);
    }
}
