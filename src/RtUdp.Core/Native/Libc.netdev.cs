namespace RtUdp.Core.Native;

/// <summary>
/// &lt;linux/netdev.h&gt; (Linux 6.3+, generated from Documentation/netlink/specs/netdev.yaml): the "netdev"
/// generic netlink family, which tells what XDP and AF_XDP features a device offers.
/// </summary>
public static partial class Libc
{
    public const int NETDEV_FAMILY_VERSION = 1;

    public const byte NETDEV_CMD_DEV_GET = 1;

    public const ushort NETDEV_A_DEV_IFINDEX = 1;
    public const ushort NETDEV_A_DEV_XDP_FEATURES = 3;

    /// <summary>u32: the most fragments a zero-copy AF_XDP socket may chain per packet (6.6).</summary>
    public const ushort NETDEV_A_DEV_XDP_ZC_MAX_SEGS = 4;
    public const ushort NETDEV_A_DEV_XDP_RX_METADATA_FEATURES = 5;

    /// <summary>u64 of NETDEV_XSK_FLAGS_*: the AF_XDP TX metadata the device honours (6.8).</summary>
    public const ushort NETDEV_A_DEV_XSK_FEATURES = 6;

    /// <summary>enum netdev_xdp_act: bits of NETDEV_A_DEV_XDP_FEATURES.</summary>
    public const ulong NETDEV_XDP_ACT_BASIC = 1;
    public const ulong NETDEV_XDP_ACT_REDIRECT = 2;
    public const ulong NETDEV_XDP_ACT_NDO_XMIT = 4;
    public const ulong NETDEV_XDP_ACT_XSK_ZEROCOPY = 8;
    public const ulong NETDEV_XDP_ACT_HW_OFFLOAD = 16;
    public const ulong NETDEV_XDP_ACT_RX_SG = 32;
    public const ulong NETDEV_XDP_ACT_NDO_XMIT_SG = 64;

    /// <summary>enum netdev_xsk_flags: bits of NETDEV_A_DEV_XSK_FEATURES.</summary>
    public const ulong NETDEV_XSK_FLAGS_TX_TIMESTAMP = 1;
    public const ulong NETDEV_XSK_FLAGS_TX_CHECKSUM = 2;
    public const ulong NETDEV_XSK_FLAGS_TX_LAUNCH_TIME_FIFO = 4;
}
