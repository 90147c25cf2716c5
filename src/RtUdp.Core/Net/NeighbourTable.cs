using System.Net;
using System.Net.NetworkInformation;
using System.Runtime.InteropServices;
using RtUdp.Core.Native;
using RtUdp.Core.Net.Netlink;

namespace RtUdp.Core.Net;

/// <summary>One entry of the kernel's neighbour table (ARP for IPv4, NDP for IPv6).</summary>
/// <param name="State">NUD_* bits.</param>
/// <param name="LinkAddress">NDA_LLADDR: the neighbour's MAC, when the entry has one.</param>
public sealed record NeighbourEntry(IPAddress Address, int Ifindex, ushort State, PhysicalAddress? LinkAddress)
{
    /// <summary>
    /// Whether <see cref="LinkAddress"/> may be used to send: REACHABLE, or STALE/DELAY/PROBE (the kernel still sends
    /// to them while it re-confirms), or PERMANENT/NOARP entries.
    /// </summary>
    public bool IsUsable =>
        LinkAddress is not null &&
        (State & (Libc.NUD_REACHABLE | Libc.NUD_STALE | Libc.NUD_DELAY | Libc.NUD_PROBE | Libc.NUD_PERMANENT | Libc.NUD_NOARP)) != 0;

    /// <summary>The state as ip-neighbour(8) prints it.</summary>
    public string StateName => NeighbourTable.StateName(State);
}

/// <summary>RTM_GETNEIGH and RTM_NEWNEIGH (NTF_USE) on the calling thread's network namespace. Control path.</summary>
public static class NeighbourTable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    /// <summary>The entry for <paramref name="address"/> on <paramref name="ifindex"/>, or null when there is none.</summary>
    /// <exception cref="NativeCallException">The kernel refused the request for another reason than "no such entry".</exception>
    public static NeighbourEntry? Get(IPAddress address, int ifindex)
    {
        uint sequence = NetlinkSocket.NextSequence();
        byte[] request = Request(Libc.RTM_GETNEIGH, Libc.NLM_F_REQUEST | Libc.NLM_F_ACK, sequence, address, ifindex, flags: 0);
        using NetlinkSocket netlink = NetlinkSocket.Open(Libc.NETLINK_ROUTE);
        try
        {
            List<NetlinkMessage> answer = netlink.Transact(request, sequence, NetlinkSocket.Deadline(Timeout), $"RTM_GETNEIGH {address}");
            NetlinkMessage? entry = answer.FirstOrDefault(m => m.Type == Libc.RTM_NEWNEIGH);
            return entry is null ? null : Parse(entry.Payload);
        }
        catch (NativeCallException e) when (e.Errno == Errno.ENOENT)
        {
            return null;
        }
    }

    /// <summary>
    /// Asks the kernel to resolve <paramref name="address"/> on <paramref name="ifindex"/> now: RTM_NEWNEIGH with
    /// NLM_F_CREATE and NTF_USE creates the entry when missing and runs neigh_event_send() on it, which sends the ARP
    /// request / neighbour solicitation exactly as the kernel's own output path would when a packet waits, but without
    /// sending the peer any datagram. A FAILED entry is restarted the same way.
    /// </summary>
    /// <exception cref="NativeCallException">The kernel refused (an interface without ARP/NDP, for instance).</exception>
    public static void Use(IPAddress address, int ifindex)
    {
        uint sequence = NetlinkSocket.NextSequence();
        byte[] request = Request(Libc.RTM_NEWNEIGH, Libc.NLM_F_REQUEST | Libc.NLM_F_ACK | Libc.NLM_F_CREATE, sequence, address, ifindex, Libc.NTF_USE);
        using NetlinkSocket netlink = NetlinkSocket.Open(Libc.NETLINK_ROUTE);
        netlink.Transact(request, sequence, NetlinkSocket.Deadline(Timeout), $"RTM_NEWNEIGH {address} use");
    }

    internal static unsafe NeighbourEntry Parse(ReadOnlySpan<byte> payload)
    {
        int fixedSize = NetlinkSocket.Align(sizeof(Libc.ndmsg));
        if (payload.Length < fixedSize)
        {
            throw new InvalidDataException($"RTM_NEWNEIGH payload of {payload.Length} bytes is shorter than ndmsg");
        }

        Libc.ndmsg ndm = MemoryMarshal.Read<Libc.ndmsg>(payload);
        ReadOnlySpan<byte> attributes = payload[fixedSize..];
        IPAddress address = IPAddress.None;
        PhysicalAddress? lladdr = null;
        foreach (NetlinkAttribute attribute in new NetlinkAttributeReader(attributes))
        {
            if (attribute.Type == Libc.NDA_DST)
            {
                address = new IPAddress(attribute.Value(attributes));
            }
            else if (attribute.Type == Libc.NDA_LLADDR)
            {
                lladdr = new PhysicalAddress(attribute.Value(attributes).ToArray());
            }
        }

        return new NeighbourEntry(address, ndm.ndm_ifindex, ndm.ndm_state, lladdr);
    }

    /// <summary>NUD_* bits as ip-neighbour(8) names them ("NONE" for 0; several joined with '|').</summary>
    public static string StateName(ushort state)
    {
        if (state == Libc.NUD_NONE)
        {
            return "NONE";
        }

        (ushort Bit, string Name)[] names =
        [
            (Libc.NUD_INCOMPLETE, "INCOMPLETE"), (Libc.NUD_REACHABLE, "REACHABLE"), (Libc.NUD_STALE, "STALE"),
            (Libc.NUD_DELAY, "DELAY"), (Libc.NUD_PROBE, "PROBE"), (Libc.NUD_FAILED, "FAILED"),
            (Libc.NUD_NOARP, "NOARP"), (Libc.NUD_PERMANENT, "PERMANENT"),
        ];
        return string.Join('|', names.Where(n => (state & n.Bit) != 0).Select(n => n.Name));
    }

    private static byte[] Request(ushort type, ushort nlFlags, uint sequence, IPAddress address, int ifindex, byte flags)
    {
        Libc.ndmsg ndm = default;
        ndm.ndm_family = RouteLookup.NativeFamily(address);
        ndm.ndm_ifindex = ifindex;
        ndm.ndm_flags = flags;
        return new NetlinkRequestBuilder(type, nlFlags, sequence)
            .Append(ndm)
            .Attribute(Libc.NDA_DST, address.GetAddressBytes())
            .ToArray();
    }
}
