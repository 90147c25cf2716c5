namespace RtUdp.Core.Native;

/// <summary>&lt;linux/if_link.h&gt;: the link attributes of RTM_NEWLINK answers that the xdp data path needs.</summary>
public static partial class Libc
{
    /// <summary>The link-layer (MAC) address.</summary>
    public const ushort IFLA_ADDRESS = 1;
    public const ushort IFLA_IFNAME = 3;
    public const ushort IFLA_MTU = 4;
    public const ushort IFLA_NUM_TX_QUEUES = 31;
    public const ushort IFLA_NUM_RX_QUEUES = 32;

    /// <summary>Nested: the interface's XDP attachment (IFLA_XDP_*).</summary>
    public const ushort IFLA_XDP = 43;

    /// <summary>Inside IFLA_XDP: the id of the program attached (any mode), absent or 0 when none.</summary>
    public const ushort IFLA_XDP_PROG_ID = 4;
}
