namespace RtUdp.Core.Native;

#pragma warning disable CS8981 // C's all-lowercase struct names, kept verbatim like the rest of Libc.

/// <summary>&lt;linux/neighbour.h&gt;: the neighbour (ARP / NDP) table through RTM_GETNEIGH and RTM_NEWNEIGH.</summary>
public static partial class Libc
{
    public const ushort NDA_DST = 1;
    public const ushort NDA_LLADDR = 2;

    /// <summary>ndm_flags of RTM_NEWNEIGH: "use" the entry, which starts resolution when it is not valid.</summary>
    public const byte NTF_USE = 1 << 0;

    public const ushort NUD_NONE = 0x00;
    public const ushort NUD_INCOMPLETE = 0x01;
    public const ushort NUD_REACHABLE = 0x02;
    public const ushort NUD_STALE = 0x04;
    public const ushort NUD_DELAY = 0x08;
    public const ushort NUD_PROBE = 0x10;
    public const ushort NUD_FAILED = 0x20;
    public const ushort NUD_NOARP = 0x40;
    public const ushort NUD_PERMANENT = 0x80;

    /// <summary>Fixed part of RTM_*NEIGH messages.</summary>
    public struct ndmsg
    {
        public byte ndm_family;
        public byte ndm_pad1;
        public ushort ndm_pad2;
        public int ndm_ifindex;
        public ushort ndm_state;
        public byte ndm_flags;
        public byte ndm_type;
    }
}
