using RtUdp.Core.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Engine;

/// <summary>
/// What the kernel attaches to a datagram the receive worker reads: the SCM_TIMESTAMPING stamps, the
/// SO_RXQ_OVFL drop count and, on a UDP_GRO socket, the UDP_GRO segment size of a coalesced datagram.
/// Parsed in place from the message's control buffer; allocates nothing.
/// </summary>
public readonly struct ReceiveControl
{
    /// <summary>
    /// Control buffer bytes per message. The kernel adds SCM_TIMESTAMPING, CMSG_SPACE(48) = 64 bytes,
    /// SO_RXQ_OVFL, CMSG_SPACE(4) = 24 bytes, and UDP_GRO, CMSG_SPACE(4) = 24 bytes; the rest is spare
    /// (CmsgOracleTests checks the sum with gcc).
    /// A message whose control data does not fit comes with MSG_CTRUNC and loses the later ones.
    /// </summary>
    public const int BytesPerMessage = 128;

    /// <summary>ts[0] of SCM_TIMESTAMPING: the software stamp, CLOCK_REALTIME ns; 0 when absent.</summary>
    public long SoftwareNs { get; init; }

    /// <summary>ts[2] of SCM_TIMESTAMPING: the raw hardware (PHC) stamp, ns; 0 when absent.</summary>
    public long HardwareNs { get; init; }

    /// <summary>
    /// Whether SO_RXQ_OVFL came: the kernel sends it only once the socket has dropped something, so
    /// without it the count is 0 (or the control data was cut short).
    /// </summary>
    public bool HasDropCount { get; init; }

    /// <summary>The socket's cumulative drop count (sk_drops, a wrapping u32) when the datagram was queued.</summary>
    public uint DropCount { get; init; }

    /// <summary>
    /// UDP_GRO's gso_size: the datagram read is several packets the kernel coalesced, each of this many bytes
    /// but the last, which may be shorter; 0 when the datagram is one packet.
    /// </summary>
    public int SegmentSize { get; init; }

    /// <remarks>Tmds.LibC's CMSG_LEN rounds up like CMSG_SPACE (24 for 4 bytes, where C says 20): lengths are compared with sizeof(cmsghdr) instead.</remarks>
    public static unsafe ReceiveControl Parse(msghdr* header)
    {
        long software = 0;
        long hardware = 0;
        bool hasDrops = false;
        uint drops = 0;
        int segmentSize = 0;
        for (cmsghdr* c = CMSG_FIRSTHDR(header); c != null; c = CMSG_NXTHDR(header, c))
        {
            if (c->cmsg_level == Libc.SOL_UDP)
            {
                if (c->cmsg_type == Libc.UDP_GRO && (uint)c->cmsg_len >= sizeof(cmsghdr) + sizeof(int))
                {
                    segmentSize = *(int*)CMSG_DATA(c);
                }
                continue;
            }
            if (c->cmsg_level != SOL_SOCKET)
            {
                continue;
            }
            if (c->cmsg_type == SCM_TIMESTAMPING)
            {
                timespec* stamps = (timespec*)CMSG_DATA(c);
                software = Libc.ToNanoseconds(stamps[0]);
                hardware = Libc.ToNanoseconds(stamps[2]);
            }
            else if (c->cmsg_type == SO_RXQ_OVFL && (uint)c->cmsg_len >= sizeof(cmsghdr) + sizeof(uint))
            {
                drops = *(uint*)CMSG_DATA(c);
                hasDrops = true;
            }
        }
        return new ReceiveControl { SoftwareNs = software, HardwareNs = hardware, HasDropCount = hasDrops, DropCount = drops, SegmentSize = segmentSize };
    }
}
