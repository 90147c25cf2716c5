using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Timestamping;
using Xunit.Abstractions;

namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// GRO on receive: coalesced datagrams (made on loopback by a plain socket sending with UDP_SEGMENT) are split
/// back into their packets exactly, in order, each with the datagram's stamps and the Coalesced flag; without
/// GRO the kernel splits them and nothing is flagged; the receive accounting balances either way.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class GroTests(EngineFixture fixture, ITestOutputHelper output) : IClassFixture<EngineFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>Two trains (3 x 1000 + 500 bytes: an uneven last segment; 5 x 200: even) and a plain 300-byte datagram.</summary>
    private static readonly (int Seed, int Segment, int Length)[] Sends = [(1, 1000, 3500), (2, 200, 1000), (3, 0, 300)];

    [Fact]
    public void Coalesced_datagrams_are_split_exactly_with_shared_stamps_flagged_coalesced()
    {
        ChannelHandle rx = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), "gro-rx") with { Gro = GroMode.On, Timestamps = TimestampMode.Software });
        Assert.Equal(1, rx.ReadStats().Mode.Gro);
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(rx.Id));
        using var sender = new GsoSender(rx.BoundLocal);

        List<(byte[] Payload, ReceivedPacket Packet)> got = SendAndReceive(sender, rx);

        List<byte[]> expected = Expected();
        Assert.Equal(expected.Count, got.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i], got[i].Payload);
            Assert.Equal(sender.LocalEndPoint, got[i].Packet.Source);
            Assert.Equal((int)StampSource.Software, got[i].Packet.StampSource);
        }

        // The first train's four packets and the second's five share their datagram's stamps and are flagged; the plain one is not.
        AssertOneDatagram(got.GetRange(0, 4).Select(g => g.Packet).ToList(), coalesced: true);
        AssertOneDatagram(got.GetRange(4, 5).Select(g => g.Packet).ToList(), coalesced: true);
        Assert.False(got[9].Packet.Coalesced);
        Assert.NotEqual(got[0].Packet.KernelRealtimeNs, got[4].Packet.KernelRealtimeNs);

        ChannelStats stats = rx.ReadStats();
        output.WriteLine(Accounting.Describe(stats));
        Assert.Equal(10, stats[ChannelCounter.Received]);
        Assert.Equal(2, stats[ChannelCounter.RxCoalesced]);
        Assert.Equal(9, stats[ChannelCounter.RxCoalescedPackets]);
        Assert.Equal(10, stats[ChannelCounter.Drained]);
        Accounting.AssertBalanced(rx);
        fixture.Client.DeleteChannel(rx.Id);
        rx.Dispose();
    }

    [Fact]
    public void Without_gro_the_kernel_splits_and_nothing_is_flagged()
    {
        ChannelHandle rx = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), "nogro-rx") with { Gro = GroMode.Off });
        Assert.Equal(0, rx.ReadStats().Mode.Gro);
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(rx.Id));
        using var sender = new GsoSender(rx.BoundLocal);

        List<(byte[] Payload, ReceivedPacket Packet)> got = SendAndReceive(sender, rx);

        Assert.Equal(Expected(), got.Select(g => g.Payload).ToList());
        Assert.All(got, g => Assert.False(g.Packet.Coalesced));
        ChannelStats stats = rx.ReadStats();
        Assert.Equal(10, stats[ChannelCounter.Received]);
        Assert.Equal(0, stats[ChannelCounter.RxCoalesced]);
        Assert.Equal(0, stats[ChannelCounter.RxCoalescedPackets]);
        Accounting.AssertBalanced(rx);
        fixture.Client.DeleteChannel(rx.Id);
        rx.Dispose();
    }

    /// <summary>
    /// max_payload 600 is below the first train's 1000-byte segments: with GRO each of them is dropped as truncated,
    /// one count per packet, as without GRO, where the kernel's MSG_TRUNC says so; the 500-byte last one is delivered.
    /// </summary>
    [Theory]
    [InlineData(GroMode.On)]
    [InlineData(GroMode.Off)]
    public void Packets_longer_than_max_payload_are_counted_truncated_one_by_one(GroMode gro)
    {
        ChannelHandle rx = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), $"gro-trunc-{gro.ToString().ToLowerInvariant()}") with { Gro = gro, MaxPayload = 600 });
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(rx.Id));
        using var sender = new GsoSender(rx.BoundLocal);
        byte[] train = GsoSender.Train(9, 1000, 3500);
        sender.Send(train, 1000);

        byte[] buffer = new byte[600];
        ReceivedPacket packet = rx.Receive(buffer, (long)Timeout.TotalNanoseconds) ?? throw new Xunit.Sdk.XunitException($"no packet: {Accounting.Describe(rx.ReadStats())}");
        Assert.Equal(train[3000..], buffer[..packet.Length]);
        Assert.Equal(gro == GroMode.On, packet.Coalesced);
        Wait.Until(() => rx.ReadStats()[ChannelCounter.Received] == 4, Timeout, () => Accounting.Describe(rx.ReadStats()));
        ChannelStats stats = rx.ReadStats();
        Assert.Equal(3, stats[ChannelCounter.RxDroppedTruncated]);
        Assert.Equal(1, stats[ChannelCounter.Drained]);
        Assert.Equal(gro == GroMode.On ? 1 : 0, stats[ChannelCounter.RxCoalesced]);
        Accounting.AssertBalanced(rx);
        fixture.Client.DeleteChannel(rx.Id);
        rx.Dispose();
    }

    /// <summary>A reflector with GRO sends every packet of a coalesced datagram back on its own, in order.</summary>
    [Fact]
    public void A_reflector_with_gro_returns_each_packet_of_a_coalesced_datagram()
    {
        ChannelHandle reflector = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), "gro-reflect") with { Gro = GroMode.On, Flags = ChannelFlags.Reflect, BatchSize = 2 });
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(reflector.Id));
        using var sender = new GsoSender(reflector.BoundLocal);
        sender.Socket.ReceiveTimeout = (int)Timeout.TotalMilliseconds;
        byte[] train = GsoSender.Train(5, 100, 950);
        sender.Send(train, 100);

        // Ten packets from a batch of two slots: the reflections go in several sendmmsg calls.
        byte[] buffer = new byte[2048];
        foreach (byte[] segment in GsoSender.Segments(train, 100))
        {
            int length = sender.Socket.Receive(buffer);
            Assert.Equal(segment, buffer[..length]);
        }
        Wait.Until(() => reflector.ReadStats()[ChannelCounter.Reflected] == 10, Timeout, () => Accounting.Describe(reflector.ReadStats()));
        Assert.Equal(10, reflector.ReadStats()[ChannelCounter.Received]);
        Accounting.AssertBalanced(reflector);
        fixture.Client.DeleteChannel(reflector.Id);
        reflector.Dispose();
    }

    private static List<byte[]> Expected() =>
        [.. Sends.SelectMany(s => GsoSender.Segments(GsoSender.Train(s.Seed, s.Segment == 0 ? s.Length : s.Segment, s.Length), s.Segment == 0 ? s.Length : s.Segment))];

    private static List<(byte[] Payload, ReceivedPacket Packet)> SendAndReceive(GsoSender sender, ChannelHandle rx)
    {
        foreach ((int seed, int segment, int length) in Sends)
        {
            sender.Send(GsoSender.Train(seed, segment == 0 ? length : segment, length), segment);
        }
        var got = new List<(byte[], ReceivedPacket)>();
        byte[] buffer = new byte[rx.Config.MaxPayload];
        while (got.Count < 10)
        {
            ReceivedPacket packet = rx.Receive(buffer, (long)Timeout.TotalNanoseconds)
                ?? throw new Xunit.Sdk.XunitException($"{got.Count} of 10 packets came: {Accounting.Describe(rx.ReadStats())}");
            got.Add((buffer[..packet.Length], packet));
        }
        return got;
    }

    private static void AssertOneDatagram(List<ReceivedPacket> packets, bool coalesced)
    {
        ReceivedPacket first = packets[0];
        Assert.NotEqual(0, first.KernelRealtimeNs);
        Assert.All(packets, p =>
        {
            Assert.Equal(coalesced, p.Coalesced);
            Assert.Equal(first.KernelRealtimeNs, p.KernelRealtimeNs);
            Assert.Equal(first.BestMonotonicNs, p.BestMonotonicNs);
            Assert.Equal(first.WorkerMonotonicNs, p.WorkerMonotonicNs);
        });
        // Sequence numbers go on one by one: every packet is a record of its own.
        Assert.Equal(Enumerable.Range(0, packets.Count).Select(i => first.Sequence + i), packets.Select(p => p.Sequence));
    }
}
