using System.Runtime.InteropServices;

namespace RtUdp.Core.Native;

/// <summary>&lt;net/if.h&gt;: interface names and the ioctl request block.</summary>
public static unsafe partial class Libc
{
    public const int IFNAMSIZ = 16;

    /// <summary>Interface flags (as in /sys/class/net/IFACE/flags).</summary>
    public const int IFF_UP = 0x1;
    public const int IFF_RUNNING = 0x40;

    /// <summary>
    /// The 64-bit layout: a 16-byte name followed by a 24-byte union (sized by its largest member,
    /// <c>struct ifmap</c>). Only the union members this engine uses are exposed.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 40)]
#pragma warning disable CS8981 // C's name, kept verbatim like the rest of Libc.
    public struct ifreq
#pragma warning restore CS8981
    {
        [FieldOffset(0)]
        public fixed byte ifr_name[IFNAMSIZ];

        [FieldOffset(16)]
        public void* ifr_data;

        [FieldOffset(16)]
        public int ifr_ifindex;
    }

    /// <returns>The interface index, or 0 with errno set.</returns>
    [LibraryImport("libc", SetLastError = true)]
    public static partial uint if_nametoindex(byte* ifname);

    /// <returns><paramref name="ifname"/> (IFNAMSIZ bytes) holding the name, or null with errno set (ENXIO: no such index).</returns>
    [LibraryImport("libc", SetLastError = true)]
    public static partial byte* if_indextoname(uint ifindex, byte* ifname);
}
