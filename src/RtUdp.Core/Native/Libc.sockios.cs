namespace RtUdp.Core.Native;

/// <summary>&lt;linux/sockios.h&gt;: ioctl request numbers (used with Tmds.Linux.LibC.ioctl and <see cref="ifreq"/>).</summary>
public static partial class Libc
{
    public const int SIOCETHTOOL = 0x8946;
    public const int SIOCSHWTSTAMP = 0x89b0;
    public const int SIOCGHWTSTAMP = 0x89b1;
}
