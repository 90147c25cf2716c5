using RtUdp.Core.Native;

namespace RtUdp.Core.Capabilities;

/// <summary>
/// An interface's transmit checksum offload (ETHTOOL_GTXCSUM / ETHTOOL_STXCSUM, <c>ethtool -k</c>'s
/// tx-checksumming). UDP GSO planning reads it: kernels before 6.11 refuse a UDP_SEGMENT datagram (EIO) on a
/// device that does not checksum on transmit.
/// </summary>
public static unsafe class InterfaceChecksum
{
    /// <summary>Whether <paramref name="ifname"/> checksums on transmit; null and the reason when it cannot be read.</summary>
    public static (bool? On, string? Problem) ReadTx(string ifname)
    {
        Libc.ethtool_value value = new() { cmd = Libc.ETHTOOL_GTXCSUM };
        int error = InterfaceIoctl.Ethtool(ifname, &value);
        return error == 0 ? (value.data != 0, null) : (null, $"ETHTOOL_GTXCSUM on {ifname}: {Errno.Describe(error)}");
    }

    /// <summary>Switches transmit checksum offload on or off (CAP_NET_ADMIN in the interface's namespace).</summary>
    /// <returns>0 or the errno.</returns>
    public static int SetTx(string ifname, bool on)
    {
        Libc.ethtool_value value = new() { cmd = Libc.ETHTOOL_STXCSUM, data = on ? 1u : 0u };
        return InterfaceIoctl.Ethtool(ifname, &value);
    }
}
