using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Stats;

namespace RtUdp.Core.Flows;

/// <summary>
/// The receive worker's part of sequenced flows: for each datagram with a flow header, its flow's
/// sequence accounting, its latency (one-way when the clocks compare, round trip for our own packets
/// reflected back) and the flow's RFC 3550 jitter. Allocates nothing; counters are tallied per batch.
/// </summary>
public sealed unsafe class FlowReceiver
{
    private readonly ChannelRegion _region;
    private readonly FlowTable _table;
    private readonly LatencyHistogram _oneWay;
    private readonly LatencyHistogram _roundTrip;
    private readonly LatencyHistogram _jitter;
    private readonly bool _ownPackets;
    private readonly uint _ownFlowId;
    private readonly uint _origin;
    private readonly long _taiMinusRealtimeNs;
    private long _monotonicToTaiNs;

    private long _packets;
    private long _badHeader;
    private long _untracked;
    private long _unsynced;

    public FlowReceiver(ChannelRegion region)
    {
        _region = region;
        _table = region.Flows;
        _oneWay = region.Histogram(ChannelHistogram.OneWay);
        _roundTrip = region.Histogram(ChannelHistogram.RoundTrip);
        _jitter = region.Histogram(ChannelHistogram.Jitter);
        ChannelConfigBlock config = region.Config;
        // Our own packets come back only on a channel that also sends them (a duplex channel facing a reflector).
        _ownPackets = config.Direction != (int)ChannelDirection.Receive;
        _ownFlowId = config.FlowId;
        _origin = HostOrigin.Current;
        _taiMinusRealtimeNs = region.Mode.TaiOffsetSeconds * 1_000_000_000L;
    }

    /// <summary>Once per batch: CLOCK_REALTIME minus CLOCK_MONOTONIC as the worker sampled it.</summary>
    public void BeginBatch(long realtimeMinusMonotonicNs) => _monotonicToTaiNs = realtimeMinusMonotonicNs + _taiMinusRealtimeNs;

    /// <summary>Accounts one datagram that arrived at <paramref name="arrivalMonotonicNs"/> (its best RX stamp).</summary>
    public void OnPacket(ReadOnlySpan<byte> payload, long arrivalMonotonicNs)
    {
        if (!FlowHeader.TryRead(payload, out FlowHeader header))
        {
            _badHeader++;
            return;
        }
        _packets++;
        long arrival = header.Clock == FlowClockDomain.Tai ? arrivalMonotonicNs + _monotonicToTaiNs : arrivalMonotonicNs;
        long transit = arrival - header.SentNs;
        FlowLatencyKind kind = Classify(header);
        switch (kind)
        {
            case FlowLatencyKind.RoundTrip:
                _roundTrip.Record(transit);
                break;
            case FlowLatencyKind.OneWaySameHost:
            case FlowLatencyKind.OneWayTai:
                _oneWay.Record(transit);
                break;
            default:
                _unsynced++;
                break;
        }

        FlowState* flow = _table.Find(header.FlowId);
        if (flow == null)
        {
            _untracked++;
            return;
        }
        SequenceOutcome outcome = SequenceTracker.Observe(ref *flow, header.Sequence);
        flow->LatencyKind = (int)kind;
        flow->ClockDomain = (int)header.Clock;
        flow->LastLatencyNs = kind == FlowLatencyKind.None ? 0 : transit;
        if (outcome is SequenceOutcome.Duplicate or SequenceOutcome.Stale || header.Clock == FlowClockDomain.None)
        {
            return;
        }
        // Jitter compares transits, so any offset between the two clocks cancels: valid across unsynchronised hosts too.
        if (flow->HasTransit != 0)
        {
            Rfc3550Jitter.Update(ref flow->JitterScaled, transit - flow->LastTransitNs);
            _jitter.Record(Rfc3550Jitter.ToNanoseconds(flow->JitterScaled));
        }
        flow->LastTransitNs = transit;
        flow->HasTransit = 1;
    }

    private FlowLatencyKind Classify(in FlowHeader header)
    {
        if (header.Clock == FlowClockDomain.None)
        {
            return FlowLatencyKind.None;
        }
        if (_ownPackets && header.FlowId == _ownFlowId && header.Origin == _origin)
        {
            return FlowLatencyKind.RoundTrip;
        }
        if (header.Clock == FlowClockDomain.Tai)
        {
            return FlowLatencyKind.OneWayTai;
        }
        return header.Clock == FlowClockDomain.Monotonic && header.Origin == _origin ? FlowLatencyKind.OneWaySameHost : FlowLatencyKind.None;
    }

    /// <summary>Publishes the batch's tallies to the channel's counters.</summary>
    public void EndBatch()
    {
        Publish(ChannelCounter.FlowPackets, ref _packets);
        Publish(ChannelCounter.FlowBadHeader, ref _badHeader);
        Publish(ChannelCounter.FlowUntracked, ref _untracked);
        Publish(ChannelCounter.FlowClockUnsynced, ref _unsynced);
    }

    private void Publish(ChannelCounter counter, ref long tally)
    {
        if (tally != 0)
        {
            _region.Add(counter, tally);
            tally = 0;
        }
    }
}
