using System.Net.NetworkInformation;
using System.Runtime.InteropServices;
using RtUdp.Core.Capabilities;
using RtUdp.Core.Native;
using RtUdp.Core.Net.Netlink;

namespace RtUdp.Core.Net;

/// <summary>What the xdp data path needs to know of an interface.</summary>
/// <param name="Ifindex">Its index.</param>
/// <param name="Name">Its name.</param>
/// <param name="Type">ifi_type: <see cref="Libc.ARPHRD_ETHER"/>, <see cref="Libc.ARPHRD_LOOPBACK"/>, ...</param>
/// <param name="Address">IFLA_ADDRESS: its MAC (null when it has none).</param>
/// <param name="Mtu">IFLA_MTU.</param>
/// <param name="RxQueues">Receive queues in use: ethtool's rx + combined channels, else IFLA_NUM_RX_QUEUES.</param>
/// <param name="TxQueues">Transmit queues in use: ethtool's tx + combined channels, else IFLA_NUM_TX_QUEUES.</param>
public sealed record LinkInfo(int Ifindex, string Name, ushort Type, PhysicalAddress? Address, int Mtu, int RxQueues, int TxQueues)
{
    /// <summary>IFLA_XDP_PROG_ID: the XDP program attached (libxdp's dispatcher, or a single program), 0 when none.</summary>
    public uint XdpProgramId { get; init; }

    /// <summary>An Ethernet interface with a 6-byte MAC: what xdp frames can be built for.</summary>
    public bool IsEthernet => Type == Libc.ARPHRD_ETHER && Address is { } a && a.GetAddressBytes().Length == Libc.ETH_ALEN;

    /// <summary>Throws a clear error when <paramref name="queue"/> is not one of the interface's receive queues.</summary>
    public void CheckRxQueue(int queue)
    {
        if (queue < 0 || queue >= RxQueues)
        {
            throw new ArgumentOutOfRangeException(nameof(queue), queue, $"queue {queue} out of range: {Name} has {RxQueues} receive queue(s) (0..{RxQueues - 1})");
        }
    }
}

/// <summary>RTM_GETLINK for one interface, plus its channel counts through ETHTOOL_GCHANNELS. Control path.</summary>
public static class LinkReader
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    /// <summary>The interface of index <paramref name="ifindex"/> in the calling thread's network namespace.</summary>
    /// <exception cref="NativeCallException">ENODEV when there is no such interface.</exception>
    public static LinkInfo Get(int ifindex) => Get(ifindex, null);

    /// <summary>The interface named <paramref name="name"/>.</summary>
    /// <exception cref="NativeCallException">ENODEV when there is no such interface.</exception>
    public static LinkInfo Get(string name) => Get(0, name);

    private static unsafe LinkInfo Get(int ifindex, string? name)
    {
        Libc.ifinfomsg ifi = default;
        ifi.ifi_index = ifindex;
        uint sequence = NetlinkSocket.NextSequence();
        var request = new NetlinkRequestBuilder(Libc.RTM_GETLINK, Libc.NLM_F_REQUEST | Libc.NLM_F_ACK, sequence).Append(ifi);
        if (name is not null)
        {
            request.Attribute(Libc.IFLA_IFNAME, name);
        }

        string what = $"RTM_GETLINK {name ?? ifindex.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
        using NetlinkSocket netlink = NetlinkSocket.Open(Libc.NETLINK_ROUTE);
        List<NetlinkMessage> answer = netlink.Transact(request.ToArray(), sequence, NetlinkSocket.Deadline(Timeout), what);
        NetlinkMessage link = answer.FirstOrDefault(m => m.Type == Libc.RTM_NEWLINK)
            ?? throw new InvalidDataException($"{what}: no RTM_NEWLINK in the answer");
        LinkInfo info = Parse(link.Payload);
        (int rx, int tx)? channels = Channels(info.Name);
        return channels is { } c ? info with { RxQueues = c.rx, TxQueues = c.tx } : info;
    }

    internal static unsafe LinkInfo Parse(ReadOnlySpan<byte> payload)
    {
        int fixedSize = NetlinkSocket.Align(sizeof(Libc.ifinfomsg));
        if (payload.Length < fixedSize)
        {
            throw new InvalidDataException($"RTM_NEWLINK payload of {payload.Length} bytes is shorter than ifinfomsg");
        }

        Libc.ifinfomsg ifi = MemoryMarshal.Read<Libc.ifinfomsg>(payload);
        ReadOnlySpan<byte> attributes = payload[fixedSize..];
        string name = "";
        PhysicalAddress? address = null;
        int mtu = 0, rx = 1, tx = 1;
        uint xdpProgram = 0;
        foreach (NetlinkAttribute attribute in new NetlinkAttributeReader(attributes))
        {
            switch (attribute.Type)
            {
                case Libc.IFLA_IFNAME:
                    name = attribute.AsString(attributes);
                    break;
                case Libc.IFLA_ADDRESS:
                    address = new PhysicalAddress(attribute.Value(attributes).ToArray());
                    break;
                case Libc.IFLA_MTU:
                    mtu = (int)attribute.AsUInt32(attributes);
                    break;
                case Libc.IFLA_NUM_RX_QUEUES:
                    rx = (int)attribute.AsUInt32(attributes);
                    break;
                case Libc.IFLA_NUM_TX_QUEUES:
                    tx = (int)attribute.AsUInt32(attributes);
                    break;
                case Libc.IFLA_XDP:
                    ReadOnlySpan<byte> xdp = attribute.Value(attributes);
                    foreach (NetlinkAttribute nested in new NetlinkAttributeReader(xdp))
                    {
                        if (nested.Type == Libc.IFLA_XDP_PROG_ID)
                        {
                            xdpProgram = nested.AsUInt32(xdp);
                        }
                    }
                    break;
                default:
                    break;
            }
        }

        return new LinkInfo(ifi.ifi_index, name, ifi.ifi_type, address, mtu, rx, tx) { XdpProgramId = xdpProgram };
    }

    /// <summary>ETHTOOL_GCHANNELS: (rx + combined, tx + combined), or null when the driver does not answer it.</summary>
    private static unsafe (int Rx, int Tx)? Channels(string name)
    {
        Libc.ethtool_channels channels = default;
        channels.cmd = Libc.ETHTOOL_GCHANNELS;
        if (InterfaceIoctl.Ethtool(name, &channels) != 0)
        {
            return null;
        }

        int rx = (int)(channels.rx_count + channels.combined_count);
        int tx = (int)(channels.tx_count + channels.combined_count);
        return rx > 0 && tx > 0 ? (rx, tx) : null;
    }
}
