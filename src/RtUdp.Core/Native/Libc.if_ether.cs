namespace RtUdp.Core.Native;

/// <summary>&lt;linux/if_ether.h&gt;: Ethernet header sizes and EtherTypes (host order: the wire wants them big-endian).</summary>
public static partial class Libc
{
    public const int ETH_ALEN = 6;
    public const int ETH_HLEN = 14;

    /// <summary>AF_PACKET protocol: every frame.</summary>
    public const ushort ETH_P_ALL = 0x0003;
    public const ushort ETH_P_IP = 0x0800;
    public const ushort ETH_P_IPV6 = 0x86DD;
}
