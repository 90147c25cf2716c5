using System.Globalization;
using System.Net;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using Xunit.Abstractions;

namespace RtUdp.Core.Tests.Integration;

/// <summary>The pair for GRO across veth: "gro-a-*", "gro-b-*", 10.238.N.0/30 (233 is XdpEngineFixture's).</summary>
public sealed class GroNamespaceFixture() : NamespacePair("gro", 238, "network namespaces, veth");

/// <summary>
/// GRO across a veth pair between two namespaces: a UDP GSO datagram sent in A (python3, run there with
/// <c>ip netns exec</c>) reaches the engine's UDP_GRO socket in B whole and is split into its packets, with its
/// uneven last one, flagged coalesced. Needs root (namespaces) and python3.
/// </summary>
public sealed class GroNamespaceTests(GroNamespaceFixture pair, ITestOutputHelper output) : IClassFixture<GroNamespaceFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    [Fact]
    public void A_gso_datagram_across_veth_arrives_coalesced_and_is_split_exactly()
    {
        if (pair.SkipReason is { } reason)
        {
            output.WriteLine($"SKIPPED: {reason}");
            return;
        }
        string python = Tool.Require("python3", "python3");
        EngineFixture b = pair.EngineB!;
        using ChannelHandle rx = b.Client.CreateChannel(new ChannelConfig
        {
            Id = b.NextId(),
            Name = "gro-ns-rx",
            Direction = ChannelDirection.Receive,
            Local = new IPEndPoint(pair.AddressB, 0),
            Capacity = 1024,
            MaxPayload = 2048,
            Gro = GroMode.On,
        });
        Assert.Equal(ChannelState.Running, b.Client.StartChannel(rx.Id));

        // 3 x 400 + 150 bytes: byte j of packet i is i.
        string send = string.Create(CultureInfo.InvariantCulture,
            $"import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('{pair.AddressA}', 0)); s.setsockopt(17, 103, 400); "
            + $"s.sendto(bytes([i // 400 for i in range(1350)]), ('{pair.AddressB}', {rx.BoundLocal.Port}))");
        Tool.Run(pair.IpPath!, "netns", "exec", pair.NamespaceA, python, "-c", send);

        byte[] buffer = new byte[2048];
        var lengths = new List<int>();
        for (int i = 0; i < 4; i++)
        {
            ReceivedPacket packet = rx.Receive(buffer, (long)Timeout.TotalNanoseconds) ?? throw new Xunit.Sdk.XunitException($"{i} of 4 packets came: {Accounting.Describe(rx.ReadStats())}");
            Assert.True(packet.Coalesced);
            Assert.All(buffer[..packet.Length], x => Assert.Equal(i, x));
            lengths.Add(packet.Length);
        }
        Assert.Equal([400, 400, 400, 150], lengths);
        ChannelStats stats = rx.ReadStats();
        output.WriteLine(Accounting.Describe(stats));
        Assert.Equal(1, stats[ChannelCounter.RxCoalesced]);
        Assert.Equal(4, stats[ChannelCounter.RxCoalescedPackets]);
        Accounting.AssertBalanced(rx);
        b.Client.DeleteChannel(rx.Id);
    }
}
