using System.Runtime.InteropServices;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Flows;
using RtUdp.Core.Native;
using RtUdp.Core.Timestamping;

namespace RtUdp.Core.Engine.Send;

/// <summary>
/// Sequenced flows on a batch of packets: the flow header is written as a packet joins the batch, its
/// send time just before the send call that carries it (see <see cref="FlowStamper"/>).
/// </summary>
public sealed unsafe class FlowBatchStamper : IDisposable
{
    private readonly ChannelRegion _region;
    private readonly FlowStamper _flows;

    // Per batch slot: the payload that got a header, or null (too short for one).
    private readonly byte** _payloads;
    private long _publishedTooShort;

    public FlowBatchStamper(ChannelRegion region, int batchCapacity)
    {
        _region = region;
        _flows = new FlowStamper(region);
        _payloads = (byte**)NativeMemory.AllocZeroed((nuint)batchCapacity, (nuint)sizeof(byte*));
    }

    /// <summary>Null unless the channel is sequenced.</summary>
    public static FlowBatchStamper? For(ChannelRegion region, int batchCapacity) =>
        ((ChannelFlags)region.Config.Flags).HasFlag(ChannelFlags.Sequenced) ? new FlowBatchStamper(region, batchCapacity) : null;

    public void BeginBatch()
    {
        if (_flows.NeedsRealtime)
        {
            _flows.BeginBatch(ClockSampler.Sample(Libc.CLOCK_REALTIME, rounds: 2).OffsetNs);
        }
    }

    /// <summary>Writes the header of the packet joining the batch in <paramref name="slot"/>.</summary>
    public void Add(int slot, byte* payload, int length, long dueNs) =>
        _payloads[slot] = _flows.Stamp(payload, length, dueNs) ? payload : null;

    /// <summary>Writes the send time of the slots [<paramref name="from"/>, <paramref name="count"/>), about to be sent.</summary>
    public void StampSent(int from, int count, long sentAt)
    {
        for (int i = from; i < count; i++)
        {
            if (_payloads[i] != null)
            {
                _flows.StampSent(_payloads[i], sentAt);
            }
        }
    }

    /// <summary>Publishes the next sequence number (so a restart goes on from it) and the packets too short for a header.</summary>
    public void PublishCounters()
    {
        Volatile.Write(ref _region.Counter(ChannelCounter.FlowNextSequence), (long)_flows.Next);
        if (_flows.TooShort != _publishedTooShort)
        {
            _region.Add(ChannelCounter.FlowHeaderTooShort, _flows.TooShort - _publishedTooShort);
            _publishedTooShort = _flows.TooShort;
        }
    }

    public void Dispose() => NativeMemory.Free(_payloads);
}
