using System.Runtime.InteropServices;
using System.Text;
using RtUdp.Core.Native;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Capabilities;

/// <summary>Per-interface ioctls (SIOCETHTOOL, SIOCGHWTSTAMP, ...) through a throwaway AF_INET datagram socket.</summary>
public static unsafe class InterfaceIoctl
{
    /// <summary>SIOCETHTOOL with <paramref name="command"/>, an ethtool struct whose first field is its command.</summary>
    /// <returns>0 or the errno.</returns>
    public static int Ethtool(string ifname, void* command) => Call(ifname, Libc.SIOCETHTOOL, command);

    /// <summary>The ioctl <paramref name="request"/> on an ifreq naming <paramref name="ifname"/>, ifr_data = <paramref name="data"/>.</summary>
    /// <returns>0 or the errno (ENODEV for a name that cannot be an interface's).</returns>
    public static int Call(string ifname, int request, void* data)
    {
        Libc.ifreq ifr = default;
        if (!TryCopyName(ifname, ifr.ifr_name))
        {
            return Errno.ENODEV;
        }

        ifr.ifr_data = data;
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            return Marshal.GetLastPInvokeError();
        }

        try
        {
            return ioctl(fd, request, &ifr) < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
        finally
        {
            _ = close(fd);
        }
    }

    private static bool TryCopyName(string ifname, byte* destination)
    {
        int count = Encoding.UTF8.GetByteCount(ifname);
        if (count == 0 || count >= Libc.IFNAMSIZ)
        {
            return false;
        }

        Encoding.UTF8.GetBytes(ifname, new Span<byte>(destination, Libc.IFNAMSIZ));
        return true;
    }
}
