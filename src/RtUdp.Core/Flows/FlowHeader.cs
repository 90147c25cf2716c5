using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace RtUdp.Core.Flows;

/// <summary>Which clock a flow header's times are in.</summary>
public enum FlowClockDomain : byte
{
    /// <summary>No times (a producer that does not stamp).</summary>
    None = 0,

    /// <summary>The sender's CLOCK_MONOTONIC: comparable only on the same host, same boot (see <see cref="FlowHeader.Origin"/>).</summary>
    Monotonic = 1,

    /// <summary>CLOCK_TAI: comparable across hosts whose clocks PTP keeps in step (ptp4l + phc2sys, TAI offset set).</summary>
    Tai = 2,
}

/// <summary>
/// The 40-byte header a sequenced channel puts at the start of each payload, network byte order
/// (docs/flow-header.md):
/// <code>
///   0  u16 magic 0x5246 ("RF")     2  u8 version (1)     3  u8 clock domain
///   4  u32 flow id
///   8  u64 sequence number
///  16  i64 scheduled send time, ns in the clock domain
///  24  i64 send time observed by the sender just before sendmmsg, ns in the clock domain
///  32  u32 origin: the sender host's boot id (first 32 bits)     36  u32 reserved, 0
/// </code>
/// </summary>
public readonly struct FlowHeader
{
    public const int Length = 40;
    public const ushort Magic = 0x5246;
    public const byte Version = 1;

    public const int SequenceOffset = 8;
    public const int ScheduledOffset = 16;
    public const int SentOffset = 24;

    public uint FlowId { get; init; }

    public ulong Sequence { get; init; }

    public FlowClockDomain Clock { get; init; }

    public long ScheduledNs { get; init; }

    public long SentNs { get; init; }

    public uint Origin { get; init; }

    /// <summary>Writes the whole header at the start of <paramref name="payload"/> (at least <see cref="Length"/> bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write(Span<byte> payload, uint flowId, ulong sequence, FlowClockDomain clock, long scheduledNs, long sentNs, uint origin)
    {
        BinaryPrimitives.WriteUInt16BigEndian(payload, Magic);
        payload[2] = Version;
        payload[3] = (byte)clock;
        BinaryPrimitives.WriteUInt32BigEndian(payload[4..], flowId);
        BinaryPrimitives.WriteUInt64BigEndian(payload[SequenceOffset..], sequence);
        BinaryPrimitives.WriteInt64BigEndian(payload[ScheduledOffset..], scheduledNs);
        BinaryPrimitives.WriteInt64BigEndian(payload[SentOffset..], sentNs);
        BinaryPrimitives.WriteUInt32BigEndian(payload[32..], origin);
        BinaryPrimitives.WriteUInt32BigEndian(payload[36..], 0);
    }

    /// <summary>Overwrites only the observed send time (the last thing known before sendmmsg).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WriteSent(Span<byte> payload, long sentNs) => BinaryPrimitives.WriteInt64BigEndian(payload[SentOffset..], sentNs);

    /// <summary>Reads a header; false when the payload is too short or its magic or version differ.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryRead(ReadOnlySpan<byte> payload, out FlowHeader header)
    {
        if (payload.Length < Length || BinaryPrimitives.ReadUInt16BigEndian(payload) != Magic || payload[2] != Version)
        {
            header = default;
            return false;
        }
        header = new FlowHeader
        {
            Clock = (FlowClockDomain)payload[3],
            FlowId = BinaryPrimitives.ReadUInt32BigEndian(payload[4..]),
            Sequence = BinaryPrimitives.ReadUInt64BigEndian(payload[SequenceOffset..]),
            ScheduledNs = BinaryPrimitives.ReadInt64BigEndian(payload[ScheduledOffset..]),
            SentNs = BinaryPrimitives.ReadInt64BigEndian(payload[SentOffset..]),
            Origin = BinaryPrimitives.ReadUInt32BigEndian(payload[32..]),
        };
        return true;
    }
}
