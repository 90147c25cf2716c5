namespace RtUdp.Core.Native;

/// <summary>&lt;netinet/udp.h&gt;: UDP's socket level and its segmentation (GSO) and coalescing (GRO) offload options.</summary>
public static partial class Libc
{
    /// <summary>The socket option level of UDP (IPPROTO_UDP).</summary>
    public const int SOL_UDP = 17;

    /// <summary>
    /// Send, as a control message (u16): the datagram is a train of segments of this size (the last may be shorter),
    /// which the kernel, or the NIC, cuts into one UDP datagram each.
    /// </summary>
    public const int UDP_SEGMENT = 103;

    /// <summary>Receive: take coalesced datagrams (UDP GRO); each comes with a UDP_GRO control message holding its gso_size (an int).</summary>
    public const int UDP_GRO = 104;
}
