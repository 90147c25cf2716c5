namespace RtUdp.Core.Native;

/// <summary>&lt;linux/if_arp.h&gt;: link types (ifi_type of RTM_NEWLINK).</summary>
public static partial class Libc
{
    public const ushort ARPHRD_ETHER = 1;
    public const ushort ARPHRD_LOOPBACK = 772;
}
