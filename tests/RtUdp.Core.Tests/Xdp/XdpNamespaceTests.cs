using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using RtUdp.Core.Net;
using RtUdp.Core.Xdp;
using Xunit.Abstractions;

namespace RtUdp.Core.Tests.Xdp;

/// <summary>
/// The xdp network pieces against the kernel, between two namespaces: frames built here are accepted by B's UDP
/// socket (the kernel checks every checksum and counts failures), B's kernel-built datagrams parse here, the
/// next-hop resolver finds MACs (directly and through a gateway) and fails clearly, and the netdev family answers.
/// </summary>
public sealed class XdpNamespaceTests(XdpNetworkPair net, ITestOutputHelper output) : IClassFixture<XdpNetworkPair>
{
    private static readonly TimeSpan ReceiveTimeout = TimeSpan.FromSeconds(5);

    private bool Skipped() => net.Skips(output);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Built_frames_sent_raw_from_A_arrive_intact_at_a_udp_socket_in_B(bool ipv6)
    {
        if (Skipped())
        {
            return;
        }

        IPAddress a = ipv6 ? net.Address6A : net.AddressA, b = ipv6 ? net.Address6B : net.AddressB;
        net.FlushNeighboursA();
        Assert.False(net.InA(() => NeighbourTable.Get(b, net.IfindexA))?.IsUsable ?? false, "the neighbour entry was not flushed");
        NextHop hop = net.InA(() => NextHopResolver.Resolve(b, interfaceName: net.VethA));
        Assert.Equal(net.MacB, hop.NextHopMac);
        Assert.Equal(net.MacA, hop.SourceMac);
        Assert.Equal(a, hop.Source);
        Assert.Equal(b, hop.NextHopAddress);
        Assert.Null(hop.Route.Gateway);

        using Socket receiver = net.UdpInB(ipv6);
        using PacketSocket raw = net.InA(() => PacketSocket.Open(net.IfindexA));
        var source = new IPEndPoint(hop.Source, 40123);
        var destination = (IPEndPoint)receiver.LocalEndPoint!;
        UdpFrameTemplate template = UdpFrameTemplate.Create(hop.SourceMac, hop.NextHopMac, source, destination);
        long errorsBefore = net.UdpChecksumErrorsB(ipv6);
        byte[] buffer = new byte[65536];
        int[] sizes = [0, 1, 2, 3, 17, 255, 1000, template.MaxPayload(1500)];
        foreach (int size in sizes)
        {
            byte[] payload = UdpFrameTests.Payload(size, size);
            raw.Send(UdpFrameTests.Build(template, payload));
            EndPoint from = new IPEndPoint(ipv6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
            int received = receiver.ReceiveFrom(buffer, ref from);
            Assert.Equal(payload, buffer[..received]);
            Assert.Equal(source, from);
        }

        Assert.Equal(errorsBefore, net.UdpChecksumErrorsB(ipv6));

        // The oracle is live: a frame with one payload bit flipped is dropped and counted, and the next good one arrives.
        byte[] bad = UdpFrameTests.Build(template, [1, 2, 3, 4]);
        bad[^1] ^= 0x01;
        raw.Send(bad);
        raw.Send(UdpFrameTests.Build(template, [9, 9]));
        EndPoint next = new IPEndPoint(ipv6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        Assert.Equal(new byte[] { 9, 9 }, buffer[..receiver.ReceiveFrom(buffer, ref next)]);
        Assert.Equal(errorsBefore + 1, net.UdpChecksumErrorsB(ipv6));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public unsafe void Datagrams_sent_by_B_kernel_parse_in_A_and_corrupted_copies_are_rejected(bool ipv6)
    {
        if (Skipped())
        {
            return;
        }

        IPAddress a = ipv6 ? net.Address6A : net.AddressA, b = ipv6 ? net.Address6B : net.AddressB;
        using Socket listener = net.UdpInA(ipv6);
        using Socket sender = net.UdpInB(ipv6);
        using PacketSocket capture = net.InA(() => PacketSocket.Open(net.IfindexA));
        var destination = (IPEndPoint)listener.LocalEndPoint!;
        var source = (IPEndPoint)sender.LocalEndPoint!;
        foreach (int size in new[] { 0, 1, 33, 1000, 1400 })
        {
            byte[] payload = UdpFrameTests.Payload(size, size + 5);
            sender.SendTo(payload, destination);
            byte[]? frame = capture.ReceiveUntil(
                f => UdpFrameParser.Parse(f, (ushort)destination.Port, out UdpFrame p) == UdpFrameVerdict.Accepted && p.SourcePort == source.Port,
                ReceiveTimeout);
            Assert.NotNull(frame);
            fixed (byte* f = frame)
            {
                Assert.Equal(UdpFrameVerdict.Accepted, UdpFrameParser.Parse(f, frame.Length, (ushort)destination.Port, out UdpFrame parsed));
                Assert.Equal(ipv6, parsed.IsIPv6);
                Assert.Equal(b.GetAddressBytes(), new ReadOnlySpan<byte>(parsed.SourceAddress, ipv6 ? 16 : 4).ToArray());
                Assert.Equal(a.GetAddressBytes(), new ReadOnlySpan<byte>(parsed.DestinationAddress, ipv6 ? 16 : 4).ToArray());
                Assert.Equal(source.Port, parsed.SourcePort);
                Assert.Equal(destination.Port, parsed.DestinationPort);
                Assert.Equal(payload, new ReadOnlySpan<byte>(parsed.Payload, parsed.PayloadLength).ToArray());
                Contract.Channels.EndpointBlock endpoint = default;
                parsed.ReadSource(ref endpoint);
                Assert.Equal(source, endpoint.ToIPEndPoint());
            }

            if (size > 0)
            {
                Assert.Equal(UdpFrameVerdict.BadUdpChecksum, UdpFrameParser.Parse(UdpFrameTests.Corrupt([.. frame], ipv6, "payload"), 0, out _));
            }

            Assert.Equal(UdpFrameVerdict.Truncated, UdpFrameParser.Parse(UdpFrameTests.Corrupt([.. frame], ipv6, "truncate"), 0, out _));
            Assert.Equal(UdpFrameVerdict.NotUdp, UdpFrameParser.Parse(UdpFrameTests.Corrupt([.. frame], ipv6, "tcp"), 0, out _));
            Assert.Equal(UdpFrameVerdict.WrongPort, UdpFrameParser.Parse(frame, (ushort)(destination.Port ^ 1), out _));
            if (!ipv6)
            {
                Assert.Equal(UdpFrameVerdict.BadIpChecksum, UdpFrameParser.Parse(UdpFrameTests.Corrupt([.. frame], ipv6, "ttl"), 0, out _));
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_address_with_no_host_behind_it_fails_clearly_within_the_timeout(bool ipv6)
    {
        if (Skipped())
        {
            return;
        }

        IPAddress silent = ipv6 ? net.Silent6 : net.Silent;
        TimeSpan timeout = TimeSpan.FromSeconds(1);
        var clock = Stopwatch.StartNew();
        var error = Assert.Throws<NextHopException>(() =>
            net.InA(() => NextHopResolver.Resolve(silent, interfaceName: net.VethA, timeout: timeout)));
        clock.Stop();
        output.WriteLine(error.Message);
        Assert.StartsWith($"could not resolve the MAC of {silent} on {net.VethA} (neighbour state ", error.Message, StringComparison.Ordinal);
        Assert.Matches(@"\(neighbour state [A-Z|]+ after [0-9.]+ s\)$", error.Message);
        Assert.InRange(clock.Elapsed, timeout, timeout + TimeSpan.FromSeconds(2));
    }

    [Theory]
    [InlineData("127.0.0.1", "reached through loopback")]
    [InlineData("::1", "reached through loopback")]
    [InlineData("A", "an address of this host")]
    public void A_destination_on_this_host_fails_clearly(string destination, string why)
    {
        if (Skipped())
        {
            return;
        }

        IPAddress address = destination == "A" ? net.AddressA : IPAddress.Parse(destination);
        var error = Assert.Throws<NextHopException>(() => net.InA(() => NextHopResolver.Resolve(address)));
        output.WriteLine(error.Message);
        Assert.Contains("xdp needs a remote next hop on a real interface", error.Message, StringComparison.Ordinal);
        Assert.Contains("route type local", error.Message, StringComparison.Ordinal);
        if (destination != "A")
        {
            Assert.Contains(address.ToString(), error.Message, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains(why, error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void No_route_fails_clearly()
    {
        if (Skipped())
        {
            return;
        }

        var error = Assert.Throws<NextHopException>(() => net.InA(() => NextHopResolver.Resolve(IPAddress.Parse("203.0.113.1"))));
        output.WriteLine(error.Message);
        Assert.StartsWith("no route to 203.0.113.1", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_destination_behind_a_gateway_resolves_to_the_gateway_mac(bool ipv6)
    {
        if (Skipped())
        {
            return;
        }

        net.FlushNeighboursA();
        IPAddress destination = ipv6 ? net.BehindGateway6 : net.BehindGateway;
        IPAddress gateway = ipv6 ? net.Address6B : net.AddressB;
        NextHop hop = net.InA(() => NextHopResolver.Resolve(destination));
        Assert.Equal(destination, hop.Destination);
        Assert.Equal(gateway, hop.Route.Gateway);
        Assert.Equal(gateway, hop.NextHopAddress);
        Assert.Equal(net.MacB, hop.NextHopMac);
        Assert.Equal(net.IfindexA, hop.Link.Ifindex);
        Assert.Equal(ipv6 ? net.Address6A : net.AddressA, hop.Source);
    }

    [Fact]
    public void Link_info_matches_ip_link_and_checks_queues()
    {
        if (Skipped())
        {
            return;
        }

        LinkInfo link = net.InA(() => LinkReader.Get(net.VethA));
        using JsonDocument ip = JsonDocument.Parse(net.IpInA("-j", "-d", "link", "show", net.VethA));
        JsonElement expected = ip.RootElement[0];
        Assert.Equal(expected.GetProperty("ifindex").GetInt32(), link.Ifindex);
        Assert.Equal(expected.GetProperty("address").GetString(), string.Join(':', link.Address!.GetAddressBytes().Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture))));
        Assert.Equal(expected.GetProperty("mtu").GetInt32(), link.Mtu);
        Assert.True(link.IsEthernet);
        Assert.InRange(link.RxQueues, 1, expected.GetProperty("num_rx_queues").GetInt32());
        Assert.InRange(link.TxQueues, 1, expected.GetProperty("num_tx_queues").GetInt32());
        link.CheckRxQueue(0);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => link.CheckRxQueue(link.RxQueues));
        Assert.Contains($"queue {link.RxQueues} out of range: {net.VethA} has {link.RxQueues} receive queue(s)", error.Message, StringComparison.Ordinal);

        LinkInfo byIndex = net.InA(() => LinkReader.Get(link.Ifindex));
        Assert.Equal(link, byIndex);
    }

    [Fact]
    public void Netdev_features_of_veth_show_no_zero_copy_and_no_xsk_tx_metadata()
    {
        if (Skipped())
        {
            return;
        }

        XdpDeviceFeatures veth = net.InA(() => XdpFeatureReader.Read(net.IfindexA));
        output.WriteLine($"{net.VethA}: {veth.Describe()} (xdp-features 0x{veth.XdpFeatures:x}, xsk-features 0x{veth.XskFeatures:x}, zc-max-segs {veth.ZeroCopyMaxSegments})");
        Assert.True(veth.IsKnown, veth.UnknownReason);
        Assert.Equal(net.IfindexA, veth.Ifindex);
        Assert.NotNull(veth.XdpFeatures);
        Assert.Equal(true, veth.Basic);
        Assert.Equal(true, veth.Redirect);
        Assert.Equal(false, veth.ZeroCopy);
        Assert.Equal(0ul, veth.XskFeatures);
        Assert.Equal(false, veth.TxTimestamp);
        Assert.Equal(false, veth.TxChecksum);
        Assert.Equal(false, veth.TxLaunchTimeFifo);
        Assert.Null(veth.ZeroCopyMaxSegments); // sent only for zero-copy devices
        Assert.Contains("zero-copy no", veth.Describe(), StringComparison.Ordinal);
        Assert.EndsWith("xsk tx metadata: none", veth.Describe(), StringComparison.Ordinal);
        Assert.Equal(Contract.Channels.XdpDeviceFeatureBits.None, veth.ToBits());
    }

    [Fact]
    public void Netdev_features_of_lo_are_read_and_an_unknown_ifindex_fails_clearly()
    {
        if (Skipped())
        {
            return;
        }

        XdpDeviceFeatures lo = net.InA(() => XdpFeatureReader.Read(1));
        output.WriteLine($"lo: {lo.Describe()}");
        Assert.True(lo.IsKnown, lo.UnknownReason);
        Assert.Equal(false, lo.ZeroCopy);
        Assert.Equal(0ul, lo.XskFeatures);

        var error = Assert.Throws<ArgumentException>(() => net.InA(() => XdpFeatureReader.Read(999_999)));
        output.WriteLine(error.Message);
        Assert.StartsWith("no network device has ifindex 999999 in this network namespace", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_datagram_fallback_also_gets_the_neighbour_resolved(bool ipv6)
    {
        if (Skipped())
        {
            return;
        }

        IPAddress b = ipv6 ? net.Address6B : net.AddressB;
        net.FlushNeighboursA();
        net.InA(() =>
        {
            Assert.False(NeighbourTable.Get(b, net.IfindexA)?.IsUsable ?? false, "the neighbour entry was not flushed");
            NextHopResolver.SolicitWithDatagram(b, LinkReader.Get(net.IfindexA));
            Wait.Until(() => NeighbourTable.Get(b, net.IfindexA)?.IsUsable ?? false, ReceiveTimeout, $"a usable neighbour entry for {b}");
            Assert.Equal(net.MacB, NeighbourTable.Get(b, net.IfindexA)!.LinkAddress);
        });
    }
}
