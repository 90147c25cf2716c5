using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Native;
using RtUdp.Core.Timestamping;

namespace RtUdp.Core.Engine.Send;

/// <summary>
/// The kernel's TX stamps for a channel whose timestamps are on: matches the stamps the
/// <see cref="SendErrorQueue"/> reads to the packets sent, through a <see cref="TxStampTracker"/>, and
/// completes the packets whose wait ran out. Never blocks.
/// </summary>
public sealed class TxStampCollector : IDisposable
{
    /// <summary>While stamps are awaited, the worker wakes at least this often to collect them and time them out.</summary>
    private const long PollNs = 1_000_000;

    private readonly ChannelRegion _region;
    private readonly TxStampTracker _tracker;
    private long _publishedSched;
    private long _publishedSoftware;
    private long _publishedHardware;
    private long _publishedUnmatched;

    // The wall clock's offset read by the previous drain: what a stamp taken before a step of the clock is
    // converted with when the step came before this drain's read (see RealtimeStampConversion).
    private ClockOffset _drainedRealtime;
    private ClockOffset _realtime;
    private ClockOffset _earlierRealtime;
    private ClockOffset _phc;
    private bool _phcValid;

    public TxStampCollector(ChannelRegion region)
    {
        _region = region;
        ChannelConfigBlock config = region.Config;
        bool awaitHardware = (TimestampMode)region.Mode.Timestamps == TimestampMode.Hardware;
        _tracker = new TxStampTracker(Math.Clamp(config.Capacity, 64, 65536), awaitHardware, awaitHardware ? config.HardwareStampTimeoutNs : 10_000_000);
    }

    /// <summary>Whether sent packets still wait for stamps.</summary>
    public bool Awaiting => _tracker.Outstanding > 0;

    /// <summary>The latest time the worker may sleep to: soon while stamps are awaited, else no limit.</summary>
    public long WakeBy(long now) => Awaiting ? now + PollNs : long.MaxValue;

    /// <summary>A packet the kernel accepted: it waits for its datagram's stamps.</summary>
    /// <param name="sameDatagram">A later packet of the GSO train the previous packet began (see <see cref="TxStampTracker.Track"/>).</param>
    public void Track<T>(in StampedPacket packet, long sentAt, bool sameDatagram, ref T completion)
        where T : struct, IStampCompletion => _tracker.Track(packet, sentAt, sameDatagram, ref completion);

    /// <summary>A datagram the kernel numbered and then refused (see <see cref="TxStampTracker.SkipKey"/>).</summary>
    public void SkipKey() => _tracker.SkipKey();

    /// <summary>A batch of error-queue messages was read: the clocks its stamps are converted with, read once for it.</summary>
    public void BeginBatch()
    {
        _realtime = ClockSampler.Sample(Libc.CLOCK_REALTIME, rounds: 2);
        _earlierRealtime = _drainedRealtime;
        _drainedRealtime = _realtime;
        _phcValid = _region.PhcOffset.TryRead(out _phc);
    }

    /// <summary>One TX stamp of the batch begun by <see cref="BeginBatch"/>.</summary>
    public void OnStamp<T>(in ErrQueueMessage message, ref T completion)
        where T : struct, IStampCompletion =>
        _tracker.OnStamp(message, _realtime, _earlierRealtime, _phc.OffsetNs, _phcValid, ref completion);

    /// <summary>Completes the packets whose wait has run out, and publishes the counters.</summary>
    public void Expire<T>(long now, ref T completion)
        where T : struct, IStampCompletion
    {
        _tracker.Expire(now, ref completion);
        PublishCounters();
    }

    /// <summary>Completes everything still waiting, as missing (the worker is stopping).</summary>
    public void Flush<T>(ref T completion)
        where T : struct, IStampCompletion
    {
        _tracker.Flush(ref completion);
        PublishCounters();
    }

    private void PublishCounters()
    {
        TxStampTracker stamps = _tracker;
        _region.Add(ChannelCounter.TxStampsSched, stamps.Sched - _publishedSched);
        _region.Add(ChannelCounter.TxStampsSoftware, stamps.Software - _publishedSoftware);
        _region.Add(ChannelCounter.TxStampsHardware, stamps.Hardware - _publishedHardware);
        _region.Add(ChannelCounter.TxStampsUnmatched, stamps.Unmatched - _publishedUnmatched);
        (_publishedSched, _publishedSoftware, _publishedHardware, _publishedUnmatched) = (stamps.Sched, stamps.Software, stamps.Hardware, stamps.Unmatched);
    }

    public void Dispose() => _tracker.Dispose();
}
