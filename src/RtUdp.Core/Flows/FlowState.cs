using System.Runtime.InteropServices;

namespace RtUdp.Core.Flows;

/// <summary>How a flow's latency samples can be read (which histogram they went to).</summary>
public enum FlowLatencyKind
{
    /// <summary>The sender's clock is not comparable with ours (monotonic from another boot, or no times): no latency samples.</summary>
    None = 0,

    /// <summary>One-way, both ends on this host's CLOCK_MONOTONIC (same boot).</summary>
    OneWaySameHost = 1,

    /// <summary>One-way in CLOCK_TAI: valid when both hosts' clocks are PTP-synchronised.</summary>
    OneWayTai = 2,

    /// <summary>Our own packets, reflected back: round trip on our own clock.</summary>
    RoundTrip = 3,
}

/// <summary>
/// One flow's receive state, in the channel's shared memory (the flow table): written by the receive
/// worker only, read by the daemon. 256 bytes; 64-bit fields are naturally aligned, so a reader never
/// sees a torn value (it may see one field of a packet's update before another).
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 256)]
public unsafe struct FlowState
{
    public const int WindowBits = 1024;
    public const int WindowWords = WindowBits / 64;

    public uint FlowId;

    /// <summary>1 once the slot belongs to <see cref="FlowId"/>.</summary>
    public int InUse;

    /// <summary>Sequence number of the first packet received (the flow's start as seen here).</summary>
    public ulong BaseSequence;

    public ulong HighestSequence;

    /// <summary>Every packet of the flow with a valid header.</summary>
    public long Received;

    /// <summary>Distinct sequence numbers received (not duplicates, not stale).</summary>
    public long Unique;

    /// <summary>Sequence numbers from <see cref="BaseSequence"/> to <see cref="HighestSequence"/>: lost = Expected - Unique.</summary>
    public long Expected;

    /// <summary>Packets whose sequence number had already been received (within the window).</summary>
    public long Duplicates;

    /// <summary>New sequence numbers that arrived after a higher one (RFC 4737 reordered).</summary>
    public long Reordered;

    /// <summary>Packets too old to tell (more than the window below the highest, or below the base): neither unique nor duplicate.</summary>
    public long Stale;

    /// <summary>RFC 3550 interarrival jitter × 16, ns.</summary>
    public long JitterScaled;

    /// <summary>Transit (arrival minus observed send time) of the last unique packet, for the jitter's D.</summary>
    public long LastTransitNs;

    /// <summary>The last latency sample (one-way or round trip; 0 when the clocks are not comparable).</summary>
    public long LastLatencyNs;

    /// <summary><see cref="FlowLatencyKind"/> of the last packet.</summary>
    public int LatencyKind;

    /// <summary><see cref="FlowClockDomain"/> of the last packet.</summary>
    public int ClockDomain;

    /// <summary>1 once <see cref="LastTransitNs"/> holds a packet's transit.</summary>
    public int HasTransit;

    public int Reserved;

    /// <summary>Bitmap of the sequence numbers received in (highest - 1024, highest], bit (seq mod 1024).</summary>
    public fixed ulong Window[WindowWords];

    public readonly long Lost => Expected - Unique;
}
