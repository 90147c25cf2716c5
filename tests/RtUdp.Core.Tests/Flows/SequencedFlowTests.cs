using System.Net;
using System.Net.Sockets;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Flows;
using RtUdp.Core.Native;
using RtUdp.Core.Tests.Integration;

namespace RtUdp.Core.Tests.Flows;

/// <summary>
/// Sequenced flows through a real engine on loopback: loss, duplicates and reordering injected on
/// purpose by a plain UDP socket and counted exactly; engine-to-engine one-way latency; the reflector.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class SequencedFlowTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private ChannelConfig Channel(string name, ChannelDirection direction, IPEndPoint? remote, ChannelFlags flags, uint flowId = 0) => new()
    {
        Id = fixture.NextId(),
        Name = name,
        Direction = direction,
        Local = new IPEndPoint(IPAddress.Loopback, 0),
        Remote = remote,
        Capacity = 4096,
        MaxPayload = 2048,
        Flags = flags,
        FlowId = flowId,
    };

    private static byte[] Packet(uint flowId, ulong sequence, int length = 64)
    {
        byte[] payload = new byte[length];
        long now = Libc.MonotonicNow();
        FlowHeader.Write(payload, flowId, sequence, FlowClockDomain.Monotonic, now, now, HostOrigin.Current);
        return payload;
    }

    [Fact]
    public void Crafted_drops_repeats_and_swaps_are_counted_exactly()
    {
        using ChannelHandle rx = fixture.Client.CreateChannel(Channel("crafted-rx", ChannelDirection.Receive, null, ChannelFlags.Sequenced));
        fixture.Client.StartChannel(rx.Id);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        // Flow 7: 0..11 with 3, 4, 5 dropped, 7 repeated twice (3 copies), 9 and 10 swapped.
        ulong[] pattern = [0, 1, 2, 6, 7, 7, 7, 8, 10, 9, 11];
        foreach (ulong sequence in pattern)
        {
            socket.SendTo(Packet(7, sequence), rx.BoundLocal);
        }
        // 16 more flows: 15 fill the table, the 16th is one too many (its packets counted untracked).
        for (uint flow = 100; flow < 116; flow++)
        {
            socket.SendTo(Packet(flow, 0), rx.BoundLocal);
            socket.SendTo(Packet(flow, 1), rx.BoundLocal);
        }
        // Not flow packets: too short, and a foreign magic.
        socket.SendTo(new byte[FlowHeader.Length - 1], rx.BoundLocal);
        byte[] foreign = Packet(7, 12);
        foreign[0] = 0x00;
        socket.SendTo(foreign, rx.BoundLocal);

        int total = pattern.Length + 32 + 2;
        Wait.Until(() => rx.ReadStats()[ChannelCounter.Received] == total, Timeout, () => $"received {rx.ReadStats()[ChannelCounter.Received]} of {total}\n{fixture.Log}");
        ChannelStats stats = rx.ReadStats();

        FlowSnapshot seven = Assert.Single(stats.Flows, f => f.FlowId == 7);
        Assert.Equal(11, seven.Received);
        Assert.Equal(12, seven.Expected);
        Assert.Equal(9, seven.Unique);
        Assert.Equal(3, seven.Lost);
        Assert.Equal(2, seven.Duplicates);
        Assert.Equal(1, seven.Reordered);
        Assert.Equal(0, seven.Stale);
        Assert.Equal(0UL, seven.FirstSequence);
        Assert.Equal(11UL, seven.HighestSequence);
        Assert.Equal(FlowLatencyKind.OneWaySameHost, seven.LatencyKind);

        Assert.Equal(FlowTable.Capacity, stats.Flows.Count);
        Assert.All(stats.Flows.Where(f => f.FlowId != 7), f => Assert.Equal((2L, 0L, 0L), (f.Received, f.Lost, f.Duplicates)));
        Assert.DoesNotContain(stats.Flows, f => f.FlowId == 115);
        Assert.Equal(2, stats[ChannelCounter.FlowUntracked]);
        Assert.Equal(2, stats[ChannelCounter.FlowBadHeader]);
        Assert.Equal(total - 2, stats[ChannelCounter.FlowPackets]);
        Assert.Equal(0, stats[ChannelCounter.FlowClockUnsynced]);
        // Every flow packet's latency went to the one-way histogram (same host, same boot).
        Assert.Equal(total - 2, stats.OneWay.TotalCount);
        // Jitter: one sample per unique packet after a flow's first (8 for flow 7, 1 for each tracked other).
        Assert.Equal(8 + 15, stats.Jitter.TotalCount);
        Assert.Equal(0, stats.RoundTrip.TotalCount);
        fixture.Client.DeleteChannel(rx.Id);
    }

    [Fact]
    public void Monotonic_times_from_another_boot_give_no_latency_but_are_still_sequenced()
    {
        using ChannelHandle rx = fixture.Client.CreateChannel(Channel("foreign-rx", ChannelDirection.Receive, null, ChannelFlags.Sequenced));
        fixture.Client.StartChannel(rx.Id);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        for (ulong sequence = 0; sequence < 5; sequence++)
        {
            byte[] payload = new byte[64];
            FlowHeader.Write(payload, 3, sequence, FlowClockDomain.Monotonic, 1000, 1000, ~HostOrigin.Current);
            socket.SendTo(payload, rx.BoundLocal);
        }
        Wait.Until(() => rx.ReadStats()[ChannelCounter.Received] == 5, Timeout, () => "5 received");
        ChannelStats stats = rx.ReadStats();
        Assert.Equal(5, stats[ChannelCounter.FlowClockUnsynced]);
        Assert.Equal(0, stats.OneWay.TotalCount);
        FlowSnapshot flow = Assert.Single(stats.Flows);
        Assert.Equal(FlowLatencyKind.None, flow.LatencyKind);
        Assert.Equal((5L, 0L), (flow.Unique, flow.Lost));
        fixture.Client.DeleteChannel(rx.Id);
    }

    [Fact]
    public void Engine_to_engine_flow_has_no_loss_and_one_way_latency_within_bounds()
    {
        const int packets = 500;
        using ChannelHandle rx = fixture.Client.CreateChannel(Channel("oneway-rx", ChannelDirection.Receive, null, ChannelFlags.Sequenced));
        using ChannelHandle tx = fixture.Client.CreateChannel(Channel("oneway-tx", ChannelDirection.Send, rx.BoundLocal, ChannelFlags.Sequenced, flowId: 42));
        fixture.Client.StartChannel(rx.Id);
        fixture.Client.StartChannel(tx.Id);

        long start = Libc.MonotonicNow() + 2_000_000;
        byte[] payload = new byte[100];
        payload.AsSpan().Fill(0xAB);
        for (int i = 0; i < packets; i++)
        {
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(payload, start + (i * 50_000L), i));
        }
        byte[] buffer = new byte[2048];
        for (int i = 0; i < packets; i++)
        {
            ReceivedPacket? packet = rx.Receive(buffer, 2_000_000_000);
            Assert.True(packet.HasValue, $"packet {i} missing\n{fixture.Log}");
            Assert.True(FlowHeader.TryRead(buffer.AsSpan(0, packet.Value.Length), out FlowHeader header));
            Assert.Equal(42u, header.FlowId);
            Assert.Equal((ulong)i, header.Sequence);
            Assert.Equal(start + (i * 50_000L), header.ScheduledNs);
            Assert.True(header.SentNs >= header.ScheduledNs, "sent before its time");
            Assert.True(buffer.AsSpan(FlowHeader.Length, 100 - FlowHeader.Length).IndexOfAnyExcept((byte)0xAB) < 0, "the payload after the header is the caller's");
        }

        ChannelStats stats = rx.ReadStats();
        FlowSnapshot flow = Assert.Single(stats.Flows);
        Assert.Equal((42u, (long)packets, (long)packets, 0L, 0L, 0L), (flow.FlowId, flow.Received, flow.Unique, flow.Lost, flow.Duplicates, flow.Reordered));
        Assert.Equal(FlowLatencyKind.OneWaySameHost, flow.LatencyKind);
        Assert.Equal(packets, stats.OneWay.TotalCount);
        Assert.Equal(packets - 1, stats.Jitter.TotalCount);
        // Loopback, kernel RX stamp minus the sender's clock read before sendmmsg: positive, and well under 50 ms even on a loaded 2-CPU host.
        Assert.Equal(0, stats.OneWay.BelowZeroCount);
        Assert.InRange(stats.OneWay.Min, 1, 50_000_000);
        Assert.InRange(stats.OneWay.ValueAtPercentile(50), 1, 5_000_000);
        Assert.InRange(stats.OneWay.Max, 1, 50_000_000);
        Assert.InRange(flow.JitterNs, 0, stats.OneWay.Max);
        Assert.Equal(0, tx.ReadStats()[ChannelCounter.FlowHeaderTooShort]);
        fixture.Client.DeleteChannel(tx.Id);
        fixture.Client.DeleteChannel(rx.Id);
    }

    [Fact]
    public unsafe void Tai_flow_carries_tai_times_and_one_way_latency_of_kind_tai()
    {
        using ChannelHandle rx = fixture.Client.CreateChannel(Channel("tai-rx", ChannelDirection.Receive, null, ChannelFlags.Sequenced));
        using ChannelHandle tx = fixture.Client.CreateChannel(Channel("tai-tx", ChannelDirection.Send, rx.BoundLocal, ChannelFlags.Sequenced, flowId: 8) with { FlowClock = FlowClock.Tai });
        fixture.Client.StartChannel(rx.Id);
        fixture.Client.StartChannel(tx.Id);
        const int packets = 20;
        long start = Libc.MonotonicNow() + 1_000_000;
        for (int i = 0; i < packets; i++)
        {
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(new byte[64], start + (i * 100_000L), i));
        }
        byte[] buffer = new byte[2048];
        for (int i = 0; i < packets; i++)
        {
            ReceivedPacket? packet = rx.Receive(buffer, 2_000_000_000);
            Assert.True(packet.HasValue, $"packet {i} missing");
            Assert.True(FlowHeader.TryRead(buffer.AsSpan(0, packet.Value.Length), out FlowHeader header));
            Assert.Equal(FlowClockDomain.Tai, header.Clock);
            Tmds.Linux.timespec tai;
            Assert.Equal(0, Libc.clock_gettime(Libc.CLOCK_TAI, &tai));
            // The header's times are CLOCK_TAI: just before now on the TAI clock, not on the monotonic one.
            Assert.InRange(Libc.ToNanoseconds(tai) - header.SentNs, 0, 1_000_000_000);
        }
        ChannelStats stats = rx.ReadStats();
        FlowSnapshot flow = Assert.Single(stats.Flows);
        Assert.Equal((FlowLatencyKind.OneWayTai, FlowClockDomain.Tai, 0L), (flow.LatencyKind, flow.Clock, flow.Lost));
        Assert.Equal(packets, stats.OneWay.TotalCount);
        // Both ends convert with a CLOCK_REALTIME offset sampled per batch: on one host the latency stays small and positive.
        Assert.InRange(stats.OneWay.Min, -50_000, 50_000_000);
        Assert.InRange(stats.OneWay.Max, 0, 50_000_000);
        fixture.Client.DeleteChannel(tx.Id);
        fixture.Client.DeleteChannel(rx.Id);
    }

    [Fact]
    public void Sequence_numbers_go_on_across_a_stop_and_start()
    {
        using ChannelHandle rx = fixture.Client.CreateChannel(Channel("restart-rx", ChannelDirection.Receive, null, ChannelFlags.Sequenced));
        using ChannelHandle tx = fixture.Client.CreateChannel(Channel("restart-tx", ChannelDirection.Send, rx.BoundLocal, ChannelFlags.Sequenced, flowId: 11));
        fixture.Client.StartChannel(rx.Id);
        byte[] buffer = new byte[2048];
        for (int round = 0; round < 2; round++)
        {
            fixture.Client.StartChannel(tx.Id);
            for (int i = 0; i < 10; i++)
            {
                Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(new byte[64], Libc.MonotonicNow(), i));
            }
            for (int i = 0; i < 10; i++)
            {
                ReceivedPacket? packet = rx.Receive(buffer, 2_000_000_000);
                Assert.True(packet.HasValue);
                Assert.True(FlowHeader.TryRead(buffer.AsSpan(0, packet.Value.Length), out FlowHeader header));
                Assert.Equal((ulong)((round * 10) + i), header.Sequence);
            }
            fixture.Client.StopChannel(tx.Id);
        }
        Assert.Equal(20, tx.ReadStats()[ChannelCounter.FlowNextSequence]);
        FlowSnapshot flow = Assert.Single(rx.ReadStats().Flows);
        Assert.Equal((20L, 0L, 0L, 0L), (flow.Unique, flow.Lost, flow.Duplicates, flow.Stale));
        fixture.Client.DeleteChannel(tx.Id);
        fixture.Client.DeleteChannel(rx.Id);
    }

    [Fact]
    public void Payload_shorter_than_the_header_is_sent_as_is_and_counted()
    {
        using ChannelHandle rx = fixture.Client.CreateChannel(Channel("short-rx", ChannelDirection.Receive, null, ChannelFlags.Sequenced));
        using ChannelHandle tx = fixture.Client.CreateChannel(Channel("short-tx", ChannelDirection.Send, rx.BoundLocal, ChannelFlags.Sequenced));
        fixture.Client.StartChannel(rx.Id);
        fixture.Client.StartChannel(tx.Id);
        byte[] payload = "too short for a header"u8.ToArray();
        Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(payload, Libc.MonotonicNow(), 1));
        byte[] buffer = new byte[2048];
        ReceivedPacket? packet = rx.Receive(buffer, 2_000_000_000);
        Assert.True(packet.HasValue);
        Assert.Equal(payload, buffer.AsSpan(0, packet.Value.Length).ToArray());
        Wait.Until(() => tx.ReadStats()[ChannelCounter.FlowHeaderTooShort] == 1, Timeout, () => "flow_header_too_short == 1");
        Assert.Equal(1, rx.ReadStats()[ChannelCounter.FlowBadHeader]);
        fixture.Client.DeleteChannel(tx.Id);
        fixture.Client.DeleteChannel(rx.Id);
    }

    [Fact]
    public void Reflector_returns_every_packet_and_the_sender_gets_round_trips_without_allocating()
    {
        using ChannelHandle reflector = fixture.Client.CreateChannel(Channel("refl", ChannelDirection.Receive, null, ChannelFlags.Reflect | ChannelFlags.Sequenced));
        using ChannelHandle pinger = fixture.Client.CreateChannel(Channel("refl-ping", ChannelDirection.Duplex, reflector.BoundLocal, ChannelFlags.Sequenced, flowId: 9));
        fixture.Client.StartChannel(reflector.Id);
        fixture.Client.StartChannel(pinger.Id);
        byte[] payload = new byte[64];
        byte[] buffer = new byte[2048];
        int sent = 0;

        void Traffic(int packets)
        {
            long start = Libc.MonotonicNow() + 1_000_000;
            for (int i = 0; i < packets; i++)
            {
                Assert.Equal(EnqueueResult.Ok, pinger.TryEnqueue(payload, start + (i * 100_000L), sent + i));
            }
            for (int i = 0; i < packets; i++)
            {
                Assert.NotNull(pinger.Receive(buffer, 2_000_000_000));
            }
            sent += packets;
        }

        Traffic(200); // warm-up
        EngineHealth before = FreshHealth();
        Traffic(2000);
        EngineHealth after = FreshHealth();
        Assert.Equal(before.TotalCollections, after.TotalCollections);
        Assert.Equal(before.AllocatedBytes, after.AllocatedBytes);

        Wait.Until(() => reflector.ReadStats()[ChannelCounter.Reflected] == sent, Timeout, () => "reflector counts every packet");
        ChannelStats back = reflector.ReadStats();
        Assert.Equal(sent, back[ChannelCounter.Received]);
        Assert.Equal(sent, back[ChannelCounter.Reflected]);
        Assert.Equal(0, back[ChannelCounter.ReflectErrors]);
        Assert.Equal(0, back[ChannelCounter.RxWritten]);
        Assert.True(back.RxBalanced);
        Assert.Equal(sent, back.OneWay.TotalCount); // the reflector's own view of the flow: one way, same host

        ChannelStats ping = pinger.ReadStats();
        Assert.Equal(sent, ping.RoundTrip.TotalCount);
        Assert.Equal(0, ping.OneWay.TotalCount);
        Assert.Equal(0, ping.RoundTrip.BelowZeroCount);
        FlowSnapshot flow = Assert.Single(ping.Flows);
        Assert.Equal((9u, (long)sent, 0L, FlowLatencyKind.RoundTrip), (flow.FlowId, flow.Unique, flow.Lost, flow.LatencyKind));
        Assert.True(ping.RxBalanced && ping.TxBalanced);
        fixture.Client.DeleteChannel(pinger.Id);
        fixture.Client.DeleteChannel(reflector.Id);
    }

    private EngineHealth FreshHealth()
    {
        long beat = fixture.Client.ReadHealth().Heartbeat;
        Wait.Until(() => fixture.Client.ReadHealth().Heartbeat > beat + 1, Timeout, () => "conductor heartbeat");
        return fixture.Client.ReadHealth();
    }
}
