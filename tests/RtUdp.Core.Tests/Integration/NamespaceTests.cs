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
}
