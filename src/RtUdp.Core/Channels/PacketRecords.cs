using System.Runtime.InteropServices;

namespace RtUdp.Core.Channels;

/// <summary>Record types used in channel rings (record types must be positive).</summary>
public static class PacketRecordType
{
    public const int Packet = 1;
}

/// <summary>Body prefix of a TX ring record; the payload follows.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct TxPacketHeader
{
    /// <summary>CLOCK_MONOTONIC time at which the packet must leave, ns.</summary>
    public long DueNs;

    /// <summary>Caller's id for the packet, echoed in its <see cref="TxReport"/>.</summary>
    public long PacketId;
}

/// <summary>Body prefix of an RX ring record; the payload follows.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct RxPacketHeader
{
    /// <summary>Kernel software RX timestamp (CLOCK_REALTIME, ns); 0 when the kernel gave none.</summary>
    public long KernelRealtimeNs;

    /// <summary>CLOCK_MONOTONIC read by the receive worker right after the batch arrived, ns.</summary>
    public long WorkerMonotonicNs;

    /// <summary>Who sent it.</summary>
    public EndpointBlock Source;

    /// <summary>Per-worker receive sequence number (gaps mean drops in the RX ring).</summary>
    public long Sequence;
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

/// <summary>One record per packet in the TX report ring: its outcome and the time it actually left.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct TxReport
{
    public long PacketId;
    public long DueNs;

    /// <summary>CLOCK_MONOTONIC read just before the sendmmsg that carried it; 0 if not sent.</summary>
    public long SentNs;
    public int Outcome;

    /// <summary>errno of a failed send, 0 otherwise.</summary>
    public int Errno;
}
