using System.Net;
using System.Runtime.InteropServices;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Native;
using RtUdp.Core.Net;
using RtUdp.Core.Net.Netlink;
using RtUdp.Core.Xdp;

namespace RtUdp.Core.Tests.Xdp;

/// <summary>The netlink answers the xdp readers take apart, built by hand: features of kernels old and new, routes, neighbours, errors.</summary>
public sealed class NetlinkParseTests
{
    private static byte[] Attributes(params (ushort Type, byte[] Value)[] attributes)
    {
        var builder = new NetlinkRequestBuilder(0, 0, 0);
        foreach ((ushort type, byte[] value) in attributes)
        {
            builder.Attribute(type, value);
        }
        return builder.ToArray()[Marshal.SizeOf<Libc.nlmsghdr>()..];
    }

    private static byte[] U32(uint value) => BitConverter.GetBytes(value);

    private static byte[] U64(ulong value) => BitConverter.GetBytes(value);

    [Fact]
    public void Features_of_a_zero_copy_device_with_every_tx_metadata_flag()
    {
        byte[] attributes = Attributes(
            (Libc.NETDEV_A_DEV_IFINDEX, U32(7)),
            (Libc.NETDEV_A_DEV_XDP_FEATURES, U64(Libc.NETDEV_XDP_ACT_BASIC | Libc.NETDEV_XDP_ACT_REDIRECT | Libc.NETDEV_XDP_ACT_NDO_XMIT | Libc.NETDEV_XDP_ACT_XSK_ZEROCOPY)),
            (Libc.NETDEV_A_DEV_XDP_ZC_MAX_SEGS, U32(17)),
            (Libc.NETDEV_A_DEV_XSK_FEATURES, U64(Libc.NETDEV_XSK_FLAGS_TX_TIMESTAMP | Libc.NETDEV_XSK_FLAGS_TX_CHECKSUM | Libc.NETDEV_XSK_FLAGS_TX_LAUNCH_TIME_FIFO)));
        XdpDeviceFeatures features = XdpFeatureReader.Parse(7, attributes);
        Assert.Equal((true, true, true, true), (features.Basic, features.Redirect, features.NdoXmit, features.ZeroCopy));
        Assert.Equal(17, features.ZeroCopyMaxSegments);
        Assert.Equal((true, true, true), (features.TxTimestamp, features.TxChecksum, features.TxLaunchTimeFifo));
        Assert.Equal("xdp: basic redirect ndo-xmit; zero-copy (max 17 segments); xsk tx metadata: timestamp checksum launch-time-fifo", features.Describe());
        Assert.Equal(
            XdpDeviceFeatureBits.ZeroCopy | XdpDeviceFeatureBits.TxTimestamp | XdpDeviceFeatureBits.TxChecksum | XdpDeviceFeatureBits.TxLaunchTimeFifo,
            features.ToBits());
    }

    [Fact]
    public void A_kernel_before_xsk_features_leaves_the_tx_metadata_unknown()
    {
        // 6.3 to 6.7: xdp-features only (here as a 4-byte value: widths are taken as sent).
        XdpDeviceFeatures features = XdpFeatureReader.Parse(3, Attributes(
            (Libc.NETDEV_A_DEV_IFINDEX, U32(3)),
            (Libc.NETDEV_A_DEV_XDP_FEATURES, U32((uint)Libc.NETDEV_XDP_ACT_BASIC))));
        Assert.Equal(true, features.Basic);
        Assert.Equal(false, features.ZeroCopy);
        Assert.Null(features.XskFeatures);
        Assert.Null(features.TxChecksum);
        Assert.Null(features.TxLaunchTimeFifo);
        Assert.Equal("xdp: basic; zero-copy no (copy mode); xsk tx metadata: unknown (kernel before 6.8)", features.Describe());
        Assert.Equal(XdpDeviceFeatureBits.Unknown, features.ToBits());
    }

    [Fact]
    public void A_kernel_without_the_family_gives_unknown_everything()
    {
        XdpDeviceFeatures features = XdpDeviceFeatures.Unknown(2, "this kernel has no netdev netlink family (Linux 6.3+)");
        Assert.False(features.IsKnown);
        Assert.Null(features.Basic);
        Assert.Null(features.ZeroCopy);
        Assert.Null(features.TxTimestamp);
        Assert.Equal("xdp features unknown: this kernel has no netdev netlink family (Linux 6.3+)", features.Describe());
        Assert.Equal(XdpDeviceFeatureBits.Unknown, features.ToBits());
    }

    [Fact]
    public unsafe void A_route_answer_gives_type_interface_gateway_and_source()
    {
        Libc.rtmsg rtm = default;
        rtm.rtm_family = 2;
        rtm.rtm_type = Libc.RTN_UNICAST;
        byte[] message = new NetlinkRequestBuilder(Libc.RTM_NEWROUTE, 0, 1)
            .Append(rtm)
            .Attribute(Libc.RTA_DST, [10, 9, 8, 7])
            .Attribute(Libc.RTA_OIF, 4u)
            .Attribute(Libc.RTA_GATEWAY, [10, 0, 0, 1])
            .Attribute(Libc.RTA_PREFSRC, [10, 0, 0, 2])
            .ToArray();
        RouteInfo route = RouteLookup.Parse(IPAddress.Parse("10.9.8.7"), message.AsSpan(sizeof(Libc.nlmsghdr)));
        Assert.Equal(Libc.RTN_UNICAST, route.Type);
        Assert.Equal("unicast", route.TypeName);
        Assert.Equal(4, route.OutputIfindex);
        Assert.Equal(IPAddress.Parse("10.0.0.1"), route.Gateway);
        Assert.Equal(IPAddress.Parse("10.0.0.1"), route.NextHop);
        Assert.Equal(IPAddress.Parse("10.0.0.2"), route.PreferredSource);
    }

    [Fact]
    public unsafe void A_neighbour_answer_gives_state_and_mac()
    {
        Libc.ndmsg ndm = default;
        ndm.ndm_family = 2;
        ndm.ndm_ifindex = 5;
        ndm.ndm_state = Libc.NUD_STALE;
        byte[] message = new NetlinkRequestBuilder(Libc.RTM_NEWNEIGH, 0, 1)
            .Append(ndm)
            .Attribute(Libc.NDA_DST, [10, 0, 0, 9])
            .Attribute(Libc.NDA_LLADDR, [2, 0, 0, 0, 0, 0xB])
            .ToArray();
        NeighbourEntry entry = NeighbourTable.Parse(message.AsSpan(sizeof(Libc.nlmsghdr)));
        Assert.Equal(IPAddress.Parse("10.0.0.9"), entry.Address);
        Assert.Equal(5, entry.Ifindex);
        Assert.Equal(UdpFrameTests.MacB, entry.LinkAddress);
        Assert.True(entry.IsUsable);
        Assert.Equal("STALE", entry.StateName);
        Assert.False((entry with { State = Libc.NUD_FAILED }).IsUsable);
        Assert.False((entry with { State = Libc.NUD_INCOMPLETE }).IsUsable);
        Assert.Equal("NONE", NeighbourTable.StateName(Libc.NUD_NONE));
        Assert.Equal("INCOMPLETE|FAILED", NeighbourTable.StateName(Libc.NUD_INCOMPLETE | Libc.NUD_FAILED));
    }

    [Fact]
    public unsafe void An_error_answer_throws_with_the_errno_and_the_kernel_text()
    {
        // NLMSG_ERROR with NLM_F_CAPPED | NLM_F_ACK_TLVS: errno, the request's header, then NLMSGERR_ATTR_MSG.
        var error = new List<byte>();
        error.AddRange(BitConverter.GetBytes(-Errno.EINVAL));
        error.AddRange(new byte[sizeof(Libc.nlmsghdr)]);
        byte[] tlv = Attributes((Libc.NLMSGERR_ATTR_MSG, "Invalid ifindex\0"u8.ToArray()));
        error.AddRange(tlv);
        byte[] datagram = new NetlinkRequestBuilder(Libc.NLMSG_ERROR, 0x100 | 0x200, 42).ToArray()[..sizeof(Libc.nlmsghdr)];
        datagram = [.. datagram, .. error];
        BitConverter.GetBytes((uint)datagram.Length).CopyTo(datagram, 0);

        var thrown = Assert.Throws<NativeCallException>(() => NetlinkSocket.Collect(datagram, 42, [], "NETDEV_CMD_DEV_GET"));
        Assert.Equal(Errno.EINVAL, thrown.Errno);
        Assert.Contains("NETDEV_CMD_DEV_GET: Invalid ifindex", thrown.Message, StringComparison.Ordinal);

        // Another request's answer (sequence 41) is skipped, not taken for this one's.
        var messages = new List<NetlinkMessage>();
        Assert.False(NetlinkSocket.Collect(datagram, 41, messages, "x"));
        Assert.Empty(messages);
    }
}
