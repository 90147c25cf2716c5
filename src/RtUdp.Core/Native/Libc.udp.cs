namespace RtUdp.Core.Native;

/// <summary>&lt;linux/udp.h&gt;: UDP socket options (level SOL_UDP) for segmentation offload.</summary>
public static partial class Libc
{
    /// <summary>IPPROTO_UDP as a socket option level.</summary>
    public const int SOL_UDP = 17;

    /// <summary>Send: cut each datagram into segments of this many bytes (UDP GSO).</summary>
    public const int UDP_SEGMENT = 103;

    /// <summary>Receive: take coalesced datagrams (UDP GRO); each comes with a UDP_GRO control message holding its gso_size (an int).</summary>
    public const int UDP_GRO = 104;
}
