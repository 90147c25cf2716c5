using System.Globalization;
using System.Net;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Flows;
using RtUdp.Core.Native;
using RtUdp.Core.Tests.Integration;
using Xunit.Abstractions;

namespace RtUdp.Core.Tests.Flows;

/// <summary>Sequenced flows across a veth pair between engines in two namespaces (root).</summary>
[Collection(SerialCollection.Name)]
public sealed class FlowNamespaceTests(FlowNamespaceFixture pair, ITestOutputHelper output) : IClassFixture<FlowNamespaceFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private static ChannelConfig Channel(EngineFixture engine, string name, ChannelDirection direction, IPAddress local, IPEndPoint? remote, ChannelFlags flags, uint flowId = 0) => new()
    {
        Id = engine.NextId(),
        Name = name,
        Direction = direction,
        Local = new IPEndPoint(local, 0),
        Remote = remote,
        Capacity = 4096,
        MaxPayload = 2048,
        Flags = flags,
        FlowId = flowId,
    };

    [Fact]
    public void Reflector_in_one_namespace_returns_every_packet_of_a_sender_in_the_other()
    {
        if (pair.SkipReason is { } reason)
        {
            output.WriteLine($"SKIPPED: {reason}");
            return;
        }
        EngineFixture a = pair.EngineA!;
        EngineFixture b = pair.EngineB!;
        const int packets = 1000;
        using ChannelHandle reflector = b.Client.CreateChannel(Channel(b, "ns-refl", ChannelDirection.Receive, pair.AddressB, null, ChannelFlags.Reflect));
        using ChannelHandle pinger = a.Client.CreateChannel(Channel(a, "ns-ping", ChannelDirection.Duplex, pair.AddressA, reflector.BoundLocal, ChannelFlags.Sequenced, flowId: 77));
        b.Client.StartChannel(reflector.Id);
        a.Client.StartChannel(pinger.Id);

        long start = Libc.MonotonicNow() + 2_000_000;
        byte[] payload = new byte[256];
        for (int i = 0; i < packets; i++)
        {
            Assert.Equal(EnqueueResult.Ok, pinger.TryEnqueue(payload, start + (i * 20_000L), i));
        }
        Wait.Until(() => pinger.ReadStats()[ChannelCounter.Received] == packets, Timeout, () => $"{pinger.ReadStats()[ChannelCounter.Received]} of {packets} back\n{a.Log}\n{b.Log}");

        ChannelStats ping = pinger.ReadStats();
        Assert.Equal(packets, ping[ChannelCounter.Sent]);
        Assert.Equal(packets, ping.RoundTrip.TotalCount);
        Assert.Equal(0, ping.RoundTrip.BelowZeroCount);
        Assert.InRange(ping.RoundTrip.Min, 1, 100_000_000);
        FlowSnapshot flow = Assert.Single(ping.Flows);
        Assert.Equal((77u, (long)packets, 0L, 0L, FlowLatencyKind.RoundTrip), (flow.FlowId, flow.Unique, flow.Lost, flow.Duplicates, flow.LatencyKind));
        // The reflector counts a batch after sending it back: its counters may trail the last replies a little.
        Wait.Until(() => reflector.ReadStats()[ChannelCounter.Reflected] == packets, Timeout, () => $"reflected {reflector.ReadStats()[ChannelCounter.Reflected]}");
        ChannelStats back = reflector.ReadStats();
        Assert.Equal((long)packets, back[ChannelCounter.Received]);
        Assert.Equal(0, back[ChannelCounter.ReflectErrors]);
        Assert.True(back.RxBalanced);
        output.WriteLine($"round trip p50 {ping.RoundTrip.ValueAtPercentile(50)} ns, p99 {ping.RoundTrip.ValueAtPercentile(99)} ns, max {ping.RoundTrip.Max} ns");
        a.Client.DeleteChannel(pinger.Id);
        b.Client.DeleteChannel(reflector.Id);
    }

    [Fact]
    public void Packets_dropped_on_the_link_by_sequence_number_are_counted_lost_exactly()
    {
        if (pair.SkipReason is { } reason)
        {
            output.WriteLine($"SKIPPED: {reason}");
            return;
        }
        EngineFixture a = pair.EngineA!;
        EngineFixture b = pair.EngineB!;
        const int packets = 300;
        using ChannelHandle rx = b.Client.CreateChannel(Channel(b, "ns-seq-rx", ChannelDirection.Receive, pair.AddressB, null, ChannelFlags.Sequenced));
        // One datagram per packet: netfilter's output hook sees a GSO train as one packet, its first segment's
        // headers, so a rule on a later packet's sequence number would not match it (docs/gso.md).
        using ChannelHandle tx = a.Client.CreateChannel(Channel(a, "ns-seq-tx", ChannelDirection.Send, pair.AddressA, rx.BoundLocal, ChannelFlags.Sequenced, flowId: 5) with { Gso = GsoMode.Off });
        b.Client.StartChannel(rx.Id);
        a.Client.StartChannel(tx.Id);

        // In A's output path: drop the datagrams to rx whose sequence number (low 32 bits at payload
        // byte 12, i.e. bit 64 + 96 of the transport header) is 10, 11, 12, 100 or 299.
        string table = "flw" + rx.BoundLocal.Port.ToString(CultureInfo.InvariantCulture);
        pair.NftInA("add", "table", "ip", table);
        pair.NftInA("add", "chain", "ip", table, "out", "{ type filter hook output priority 0 ; }");
        pair.NftInA("add", "rule", "ip", table, "out", "udp", "dport", rx.BoundLocal.Port.ToString(CultureInfo.InvariantCulture),
            "@th,160,32", "{ 10, 11, 12, 100, 299 }", "counter", "drop");

        long start = Libc.MonotonicNow() + 2_000_000;
        byte[] payload = new byte[128];
        for (int i = 0; i < packets; i++)
        {
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(payload, start + (i * 20_000L), i));
        }
        // The netfilter output hook refuses the five inside sendmmsg (EPERM): the sender counts them
        // as send errors, having given them their sequence numbers, so the receiver sees the gaps.
        Wait.Until(() => tx.ReadStats() is { Pending: 0 } s && s[ChannelCounter.Sent] + s.TxDropped == packets, Timeout, () => "sender done\n" + a.Log);
        ChannelStats sent = tx.ReadStats();
        int dropped = (int)sent.TxDropped;
        Wait.Until(() => rx.ReadStats()[ChannelCounter.Received] == packets - 5, Timeout, () => $"received {rx.ReadStats()[ChannelCounter.Received]}\n{b.Log}");
        ChannelStats stats = rx.ReadStats();
        output.WriteLine($"sender: sent {sent[ChannelCounter.Sent]}, dropped {dropped}, errnos {string.Join(",", sent.SendErrnos)}; nft: {pair.NftInA("list", "table", "ip", table).Replace('\n', ' ')}");

        Assert.Equal(5, dropped);
        Assert.Equal(5, sent[ChannelCounter.DroppedError]);
        Assert.Equal(5, sent.SendErrnos[Errno.EPERM]);
        FlowSnapshot flow = Assert.Single(stats.Flows);
        // 299, the last, is beyond the highest received: invisible to the receiver, as loss at the end of a flow always is.
        Assert.Equal(299UL - 1, flow.HighestSequence);
        Assert.Equal(packets - 1, flow.Expected);
        Assert.Equal(packets - 5, flow.Unique);
        Assert.Equal(4, flow.Lost);
        Assert.Equal((0L, 0L, 0L), (flow.Duplicates, flow.Reordered, flow.Stale));
        Assert.Equal(packets - 5, stats.OneWay.TotalCount);
        a.Client.DeleteChannel(tx.Id);
        b.Client.DeleteChannel(rx.Id);
    }
}
