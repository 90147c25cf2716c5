using System.Net;
using System.Net.Sockets;
using RtUdp.Core.Native;
using RtUdp.Core.Net.Netlink;

namespace RtUdp.Core.Net;

/// <summary>The kernel's route to one destination, as <c>ip route get</c> shows it.</summary>
/// <param name="Destination">The address looked up.</param>
/// <param name="Type">rtm_type: <see cref="Libc.RTN_UNICAST"/>, <see cref="Libc.RTN_LOCAL"/> (an address of this host), ...</param>
/// <param name="OutputIfindex">RTA_OIF: the interface packets leave through (0 when none).</param>
/// <param name="Gateway">RTA_GATEWAY: the next hop when it is not the destination itself.</param>
/// <param name="PreferredSource">RTA_PREFSRC: the source address the kernel would pick.</param>
public sealed record RouteInfo(IPAddress Destination, byte Type, int OutputIfindex, IPAddress? Gateway, IPAddress? PreferredSource)
{
    /// <summary>The address whose MAC frames must carry: the gateway, else the destination.</summary>
    public IPAddress NextHop => Gateway ?? Destination;

    /// <summary>rtm_type as ip-route(8) names it.</summary>
    public string TypeName => Type switch
    {
        Libc.RTN_UNICAST => "unicast",
        Libc.RTN_LOCAL => "local",
        Libc.RTN_BROADCAST => "broadcast",
        Libc.RTN_ANYCAST => "anycast",
        Libc.RTN_MULTICAST => "multicast",
        Libc.RTN_BLACKHOLE => "blackhole",
        Libc.RTN_UNREACHABLE => "unreachable",
        Libc.RTN_PROHIBIT => "prohibit",
        _ => "type " + Type,
    };
}

/// <summary>RTM_GETROUTE for one destination in the calling thread's network namespace. Control path.</summary>
public static class RouteLookup
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    /// <summary>The route to <paramref name="destination"/>, optionally from <paramref name="source"/> and out of <paramref name="outputIfindex"/>.</summary>
    /// <exception cref="NativeCallException">The kernel refused (ENETUNREACH: no route; EHOSTUNREACH; EINVAL for a source that is not ours, ...).</exception>
    public static RouteInfo Get(IPAddress destination, IPAddress? source = null, int outputIfindex = 0)
    {
        ArgumentNullException.ThrowIfNull(destination);
        byte[] dst = destination.GetAddressBytes();
        Libc.rtmsg rtm = default;
        rtm.rtm_family = NativeFamily(destination);
        rtm.rtm_dst_len = (byte)(dst.Length * 8);
        uint sequence = NetlinkSocket.NextSequence();
        var request = new NetlinkRequestBuilder(Libc.RTM_GETROUTE, Libc.NLM_F_REQUEST | Libc.NLM_F_ACK, sequence)
            .Append(rtm)
            .Attribute(Libc.RTA_DST, dst);
        if (source is not null)
        {
            if (source.AddressFamily != destination.AddressFamily)
            {
                throw new ArgumentException($"source {source} and destination {destination} are of different families", nameof(source));
            }
            request.Attribute(Libc.RTA_SRC, source.GetAddressBytes());
        }

        if (outputIfindex != 0)
        {
            request.Attribute(Libc.RTA_OIF, (uint)outputIfindex);
        }

        using NetlinkSocket netlink = NetlinkSocket.Open(Libc.NETLINK_ROUTE);
        List<NetlinkMessage> answer = netlink.Transact(request.ToArray(), sequence, NetlinkSocket.Deadline(Timeout), $"RTM_GETROUTE {destination}");
        NetlinkMessage route = answer.FirstOrDefault(m => m.Type == Libc.RTM_NEWROUTE)
            ?? throw new InvalidDataException($"RTM_GETROUTE {destination}: no RTM_NEWROUTE in the answer");
        return Parse(destination, route.Payload);
    }

    internal static unsafe RouteInfo Parse(IPAddress destination, ReadOnlySpan<byte> payload)
    {
        int fixedSize = NetlinkSocket.Align(sizeof(Libc.rtmsg));
        if (payload.Length < fixedSize)
        {
            throw new InvalidDataException($"RTM_NEWROUTE payload of {payload.Length} bytes is shorter than rtmsg");
        }

        Libc.rtmsg rtm = System.Runtime.InteropServices.MemoryMarshal.Read<Libc.rtmsg>(payload);
        ReadOnlySpan<byte> attributes = payload[fixedSize..];
        int oif = 0;
        IPAddress? gateway = null;
        IPAddress? preferredSource = null;
        foreach (NetlinkAttribute attribute in new NetlinkAttributeReader(attributes))
        {
            switch (attribute.Type)
            {
                case Libc.RTA_OIF:
                    oif = (int)attribute.AsUInt32(attributes);
                    break;
                case Libc.RTA_GATEWAY:
                    gateway = new IPAddress(attribute.Value(attributes));
                    break;
                case Libc.RTA_PREFSRC:
                    preferredSource = new IPAddress(attribute.Value(attributes));
                    break;
                case Libc.RTA_VIA:
                    // struct rtvia: family, then the address (an IPv4 route through an IPv6 gateway).
                    ReadOnlySpan<byte> via = attribute.Value(attributes);
                    if (via.Length > 2)
                    {
                        gateway = new IPAddress(via[2..]);
                    }
                    break;
                default:
                    break;
            }
        }

        return new RouteInfo(destination, rtm.rtm_type, oif, gateway, preferredSource);
    }

    /// <summary>AF_INET or AF_INET6 for <paramref name="address"/>.</summary>
    internal static byte NativeFamily(IPAddress address) => address.AddressFamily switch
    {
        AddressFamily.InterNetwork => (byte)Tmds.Linux.LibC.AF_INET,
        AddressFamily.InterNetworkV6 => (byte)Tmds.Linux.LibC.AF_INET6,
        _ => throw new ArgumentException($"{address} is neither IPv4 nor IPv6", nameof(address)),
    };
}
