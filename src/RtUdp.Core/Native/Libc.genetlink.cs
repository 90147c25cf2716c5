namespace RtUdp.Core.Native;

#pragma warning disable CS8981 // C's all-lowercase struct names, kept verbatim like the rest of Libc.

/// <summary>&lt;linux/genetlink.h&gt;: generic netlink's header and its controller, which names families' ids.</summary>
public static partial class Libc
{
    /// <summary>The controller family's fixed id (NLMSG_MIN_TYPE).</summary>
    public const ushort GENL_ID_CTRL = 0x10;

    public const byte CTRL_CMD_GETFAMILY = 3;

    public const ushort CTRL_ATTR_FAMILY_ID = 1;
    public const ushort CTRL_ATTR_FAMILY_NAME = 2;

    /// <summary>Follows nlmsghdr in every generic netlink message.</summary>
    public struct genlmsghdr
    {
        public byte cmd;
        public byte version;
        public ushort reserved;
    }
}
