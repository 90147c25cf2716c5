using System.Runtime.CompilerServices;
using RtUdp.Core.Contract.Channels;

namespace RtUdp.Core.Flows;

/// <summary>
/// The send worker's part of sequenced flows: writes the flow header into each packet's payload in the
/// TX ring as it joins a batch, and its observed send time just before the sendmmsg that carries it.
/// Sequence numbers count the packets handed to sendmmsg (late drops take none), from 0, and go on
/// where they stopped when the channel is stopped and started again (FlowNextSequence).
/// </summary>
public sealed unsafe class FlowStamper
{
    private readonly uint _flowId;
    private readonly uint _origin;
    private readonly FlowClockDomain _clock;
    private readonly long _taiMinusRealtimeNs;
    private ulong _next;
    private long _monotonicToDomainNs;

    public FlowStamper(ChannelRegion region)
    {
        ChannelConfigBlock config = region.Config;
        _flowId = config.FlowId;
        _origin = HostOrigin.Current;
        _clock = (FlowClock)config.FlowClock == FlowClock.Tai ? FlowClockDomain.Tai : FlowClockDomain.Monotonic;
        _taiMinusRealtimeNs = region.Mode.TaiOffsetSeconds * 1_000_000_000L;
        _next = (ulong)region.Read(ChannelCounter.FlowNextSequence);
    }

    /// <summary>The sequence number the next header will carry.</summary>
    public ulong Next => _next;

    /// <summary>Whether the header's times need CLOCK_REALTIME sampled per batch.</summary>
    public bool NeedsRealtime => _clock == FlowClockDomain.Tai;

    /// <summary>Packets that got no header: their payload was shorter than it.</summary>
    public long TooShort { get; set; }

    /// <summary>Once per batch (TAI only): CLOCK_REALTIME minus CLOCK_MONOTONIC.</summary>
    public void BeginBatch(long realtimeMinusMonotonicNs) =>
        _monotonicToDomainNs = _clock == FlowClockDomain.Tai ? realtimeMinusMonotonicNs + _taiMinusRealtimeNs : 0;

    /// <summary>Writes the header of a packet joining the batch; false (and counted) when its payload cannot hold one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Stamp(byte* payload, int length, long dueMonotonicNs)
    {
        if (length < FlowHeader.Length)
        {
            TooShort++;
            return false;
        }
        FlowHeader.Write(new Span<byte>(payload, FlowHeader.Length), _flowId, _next++, _clock, dueMonotonicNs + _monotonicToDomainNs, 0, _origin);
        return true;
    }

    /// <summary>The observed send time, written just before the sendmmsg.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void StampSent(byte* payload, long sentMonotonicNs) =>
        FlowHeader.WriteSent(new Span<byte>(payload, FlowHeader.Length), sentMonotonicNs + _monotonicToDomainNs);
}
