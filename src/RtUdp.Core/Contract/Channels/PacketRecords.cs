using System.Runtime.InteropServices;

namespace RtUdp.Core.Contract.Channels;

/// <summary>Record types used in channel rings (record types must be positive).</summary>
public static class PacketRecordType
{
    public const int Packet = 1;

    /// <summary>In the TX report ring: a <see cref="TxNetworkErrorReport"/>.</summary>
    public const int NetworkError = 2;
}

/// <summary>Body prefix of a TX ring record; the payload follows.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct TxPacketHeader
{
    /// <summary>CLOCK_MONOTONIC time at which the packet must leave, ns.</summary>
    public long DueNs;

    /// <summary>Caller's id for the packet, echoed in its <see cref="TxReport"/>.</summary>
    public long PacketId;

    /// <summary>The producer's tag for who sent it (the daemon's client), echoed in the report; 0: none.</summary>
    public int ClientTag;

    /// <summary><see cref="TxPacketFlags"/>.</summary>
    public int Flags;

    /// <summary>Written by the send worker: CLOCK_MONOTONIC when it took the packet from the ring.</summary>
    public long IngestNs;
}

/// <summary>Bits of <see cref="TxPacketHeader.Flags"/>.</summary>
public static class TxPacketFlags
{
    /// <summary>Sent as soon as possible: its due time is when it was enqueued, so it never counts as arriving late.</summary>
    public const int Immediate = 1;

    /// <summary>Set by the send worker when it took the packet: later than its time plus the late tolerance (never an immediate one).</summary>
    public const int ArrivedLate = 2;
}

/// <summary>Body prefix of an RX ring record; the payload follows.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct RxPacketHeader
{
    /// <summary>Kernel software RX stamp as the kernel gave it (CLOCK_REALTIME, ns); 0 when none.</summary>
    public long KernelRealtimeNs;

    /// <summary>NIC hardware RX stamp as the NIC gave it (its PHC's time, ns); 0 when none.</summary>
    public long HardwareRawNs;

    /// <summary>The best stamp available, converted to CLOCK_MONOTONIC (see <see cref="StampSource"/>).</summary>
    public long BestMonotonicNs;

    /// <summary>CLOCK_MONOTONIC read by the receive worker right after the batch arrived, ns.</summary>
    public long WorkerMonotonicNs;

    /// <summary>Who sent it.</summary>
    public EndpointBlock Source;

    /// <summary>Per-worker receive sequence number (gaps mean drops in the RX ring).</summary>
    public long Sequence;

    /// <summary>
    /// Timestamping.StampSource of <see cref="BestMonotonicNs"/>: hardware, software or the worker's clock. With
    /// <see cref="RxPacketFlags.Coalesced"/> the stamps are those of the coalesced datagram the packet came in.
    /// </summary>
    public int StampSource;

    /// <summary><see cref="RxPacketFlags"/>.</summary>
    public int Flags;
}

/// <summary>Bits of <see cref="RxPacketHeader.Flags"/>.</summary>
public static class RxPacketFlags
{
    /// <summary>
    /// The packet was split out of a coalesced datagram (UDP GRO): its stamps, source and worker time are that
    /// datagram's, shared by every packet of it, so the first packet's stamp stands for the later ones too.
    /// </summary>
    public const int Coalesced = 1;
}

/// <summary>What became of a packet the send worker took from the TX ring.</summary>
public enum TxOutcome
{
    Sent = 1,
    SentLate = 2,
    DroppedLate = 3,
    DroppedError = 4,
    DroppedStopped = 5,
}

/// <summary>
/// One record per packet in the TX report ring: its outcome, the time it actually left, and the
/// kernel's stamps for each stage (converted to CLOCK_MONOTONIC; 0 where none came).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct TxReport
{
    public long PacketId;
    public long DueNs;

    /// <summary>CLOCK_MONOTONIC read just before the sendmmsg that carried it; 0 if not sent.</summary>
    public long SentNs;

    /// <summary>When the worker woke up for the batch that carried it.</summary>
    public long WakeNs;

    /// <summary>Kernel SCHED stamp (entered the qdisc).</summary>
    public long SchedNs;

    /// <summary>Kernel software SND stamp (handed to the driver).</summary>
    public long SoftwareNs;

    /// <summary>NIC hardware stamp (on the wire).</summary>
    public long HardwareNs;

    /// <summary>The hardware stamp in the NIC's own clock (PHC), as the NIC gave it.</summary>
    public long HardwareRawNs;
    public int Outcome;

    /// <summary>errno of a failed send, 0 otherwise.</summary>
    public int Errno;

    /// <summary>Timestamping.StampSource of the send-error sample: hardware, software or the worker's clock.</summary>
    public int StampSource;

    /// <summary>The producer's <see cref="TxPacketHeader.ClientTag"/>.</summary>
    public int ClientTag;

    /// <summary>Launch time: the txtime handed to the kernel (in the qdisc's clock); 0 otherwise.</summary>
    public long LaunchTimeNs;

    /// <summary>When the send worker took the packet from the TX ring.</summary>
    public long IngestNs;

    /// <summary><see cref="TxReportFlags"/>.</summary>
    public int Flags;

    /// <summary>For a packet dropped with EMSGSIZE: the path MTU in force (0 otherwise, or unknown).</summary>
    public int PathMtu;
}

/// <summary>What a network error was, by the ICMP report behind it.</summary>
public enum NetworkErrorKind
{
    Refused = 1,
    HostUnreachable = 2,
    NetUnreachable = 3,
    HostDown = 4,
    TooBig = 5,
    Other = 6,
}

/// <summary>How a network error was matched to a packet.</summary>
public enum NetworkErrorAttribution
{
    /// <summary>The quoted head of the datagram matched exactly one packet sent recently.</summary>
    Exact = 1,

    /// <summary>Several recent packets had that head: the oldest not yet matched was taken.</summary>
    ByOrder = 2,

    /// <summary>No recent packet matched.</summary>
    None = 3,
}

/// <summary>
/// In the TX report ring (<see cref="PacketRecordType.NetworkError"/>): a network error reported for a packet
/// already sent (an ICMP error from the socket's error queue), and the packet it was matched to.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct TxNetworkErrorReport
{
    /// <summary>The packet's id; 0 when no packet matched.</summary>
    public long PacketId;
    public long DueNs;
    public long SentNs;

    /// <summary>CLOCK_MONOTONIC when the send worker read the error.</summary>
    public long ReportedNs;
    public int ClientTag;

    /// <summary><see cref="NetworkErrorKind"/>.</summary>
    public int Kind;

    /// <summary><see cref="NetworkErrorAttribution"/>.</summary>
    public int Attribution;

    /// <summary>The errno the kernel made of it (ECONNREFUSED for port unreachable).</summary>
    public int Errno;

    /// <summary>SO_EE_ORIGIN_ICMP (2) or SO_EE_ORIGIN_ICMP6 (3).</summary>
    public int Origin;
    public int IcmpType;
    public int IcmpCode;

    /// <summary>For fragmentation needed / packet too big: the MTU the router reported.</summary>
    public int Mtu;

    /// <summary>Who sent the ICMP error: the peer, a router on the way, or this host.</summary>
    public EndpointBlock Offender;
}

/// <summary>Bits of <see cref="TxReport.Flags"/>.</summary>
public static class TxReportFlags
{
    /// <summary>Taken from the TX ring later than its due time plus the late tolerance (and not sent "as soon as possible").</summary>
    public const int ArrivedLate = 1;
}

/// <summary>A record of the TX report ring as read: a packet's report or a network error (by <see cref="Type"/>).</summary>
public struct TxReportRecord
{
    /// <summary><see cref="PacketRecordType.Packet"/> or <see cref="PacketRecordType.NetworkError"/>.</summary>
    public int Type;
    public TxReport Packet;
    public TxNetworkErrorReport NetworkError;

    public readonly bool IsNetworkError => Type == PacketRecordType.NetworkError;

    /// <summary>Who sent the packet (0: nobody in particular, or a network error matched to no packet).</summary>
    public readonly int ClientTag => IsNetworkError ? NetworkError.ClientTag : Packet.ClientTag;

    public static TxReportRecord Of(in TxReport report) => new() { Type = PacketRecordType.Packet, Packet = report };

    public static TxReportRecord Of(in TxNetworkErrorReport error) => new() { Type = PacketRecordType.NetworkError, NetworkError = error };
}
