using RtUdp.Core.Native;
using RtUdp.Core.Net.Netlink;

namespace RtUdp.Core.Xdp;

/// <summary>
/// Reads <see cref="XdpDeviceFeatures"/> through the netdev generic netlink family (what <c>ynl --family netdev
/// --do dev-get</c> prints), in the calling thread's network namespace. Control path.
/// </summary>
public static class XdpFeatureReader
{
    public const string FamilyName = "netdev";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    /// <summary>The features of the device of index <paramref name="ifindex"/>; all unknown when the kernel has no netdev family.</summary>
    /// <exception cref="ArgumentException">No device has that index in this network namespace.</exception>
    /// <exception cref="NativeCallException">Netlink failed otherwise.</exception>
    public static XdpDeviceFeatures Read(int ifindex)
    {
        long deadline = NetlinkSocket.Deadline(Timeout);
        using NetlinkSocket netlink = NetlinkSocket.Open(Libc.NETLINK_GENERIC);
        ushort? family = GenericNetlink.FamilyId(netlink, FamilyName, deadline);
        if (family is not ushort id)
        {
            return XdpDeviceFeatures.Unknown(ifindex, "this kernel has no netdev netlink family (Linux 6.3+)");
        }

        uint sequence = NetlinkSocket.NextSequence();
        byte[] request = GenericNetlink.Request(id, Libc.NETDEV_CMD_DEV_GET, Libc.NETDEV_FAMILY_VERSION, sequence)
            .Attribute(Libc.NETDEV_A_DEV_IFINDEX, (uint)ifindex)
            .ToArray();
        List<NetlinkMessage> answer;
        try
        {
            answer = netlink.Transact(request, sequence, deadline, "NETDEV_CMD_DEV_GET");
        }
        catch (NativeCallException e) when (e.Errno is Errno.ENODEV or Errno.ENOENT)
        {
            throw new ArgumentException($"no network device has ifindex {ifindex} in this network namespace ({e.Message})", nameof(ifindex), e);
        }

        NetlinkMessage message = answer.FirstOrDefault(m => m.Type == id)
            ?? throw new InvalidDataException("NETDEV_CMD_DEV_GET: no answer message");
        return Parse(ifindex, GenericNetlink.Attributes(message));
    }

    internal static XdpDeviceFeatures Parse(int ifindex, ReadOnlySpan<byte> attributes)
    {
        ulong? xdp = null, xsk = null;
        int? zcSegments = null;
        foreach (NetlinkAttribute attribute in new NetlinkAttributeReader(attributes))
        {
            switch (attribute.Type)
            {
                case Libc.NETDEV_A_DEV_XDP_FEATURES:
                    xdp = attribute.AsUnsigned(attributes);
                    break;
                case Libc.NETDEV_A_DEV_XDP_ZC_MAX_SEGS:
                    zcSegments = (int)attribute.AsUnsigned(attributes);
                    break;
                case Libc.NETDEV_A_DEV_XSK_FEATURES:
                    xsk = attribute.AsUnsigned(attributes);
                    break;
                default:
                    break;
            }
        }

        return new XdpDeviceFeatures(ifindex, xdp, zcSegments, xsk);
    }
}
