using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Native;
using RtUdp.Core.Timestamping;

namespace RtUdp.Core.Engine.Send;

/// <summary>
/// The kernel's TX stamps for a channel whose timestamps are on: takes what the socket's error queue
/// holds (stamps, launch-time errors, other socket errors) and matches the stamps to the packets sent,
/// through a <see cref="TxStampTracker"/>. Never blocks.
/// </summary>
public sealed class TxStampCollector : IDisposable
{
    private const int DrainBatch = 128;

    /// <summary>While stamps are awaited, the worker wakes at least this often to collect them and time them out.</summary>
    private const long PollNs = 1_000_000;

    private readonly ChannelRegion _region;
    private readonly TxStampTracker _tracker;
    private readonly ErrorQueueReader _errorQueue;
    private long _publishedSched;
    private long _publishedSoftware;
    private long _publishedHardware;
    private long _publishedUnmatched;

    // The wall clock's offset read by the previous drain: what a stamp taken before a step of the clock is
    // converted with when the step came before this drain's read (see RealtimeStampConversion).
    private ClockOffset _drainedRealtime;

    public TxStampCollector(ChannelRegion region, int fd)
    {
        _region = region;
        ChannelConfigBlock config = region.Config;
        bool awaitHardware = (TimestampMode)region.Mode.Timestamps == TimestampMode.Hardware;
        _tracker = new TxStampTracker(Math.Clamp(config.Capacity, 64, 65536), awaitHardware, awaitHardware ? config.HardwareStampTimeoutNs : 10_000_000);
        _errorQueue = new ErrorQueueReader(fd, DrainBatch);
    }

    /// <summary>Whether sent packets still wait for stamps.</summary>
    public bool Awaiting => _tracker.Outstanding > 0;

    /// <summary>The latest time the worker may sleep to: soon while stamps are awaited, else no limit.</summary>
    public long WakeBy(long now) => Awaiting ? now + PollNs : long.MaxValue;

    /// <summary>A datagram the kernel accepted: it waits for its stamps.</summary>
    public void Track<T>(in StampedPacket packet, long sentAt, ref T completion)
        where T : struct, IStampCompletion => _tracker.Track(packet, sentAt, ref completion);

    /// <summary>Takes what the error queue holds, then completes packets whose wait has run out.</summary>
    public void Drain<T>(long now, ref T completion)
        where T : struct, IStampCompletion
    {
        Span<ErrQueueMessage> messages = stackalloc ErrQueueMessage[DrainBatch];
        while (true)
        {
            int count = _errorQueue.Drain(messages);
            if (count <= 0)
            {
                break;
            }
            ClockOffset realtime = ClockSampler.Sample(Libc.CLOCK_REALTIME, rounds: 2);
            ClockOffset earlier = _drainedRealtime;
            _drainedRealtime = realtime;
            bool phcValid = _region.PhcOffset.TryRead(out ClockOffset phc);
            for (int i = 0; i < count; i++)
            {
                ref ErrQueueMessage message = ref messages[i];
                switch (message.Kind)
                {
                    case ErrQueueKind.TxTimestamp:
                        _tracker.OnStamp(message, realtime, earlier, phc.OffsetNs, phcValid, ref completion);
                        break;
                    case ErrQueueKind.TxTimeError:
                        _region.Add(message.IsTxTimeMissed ? ChannelCounter.LaunchMissed : ChannelCounter.LaunchInvalid, 1);
                        break;
                    default:
                        _region.Add(ChannelCounter.ErrorQueueErrors, 1);
                        _region.ErrnoCounter(sendSide: true, message.Errno)++;
                        break;
                }
            }
            if (count < DrainBatch)
            {
                break;
            }
        }
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

    public void Dispose()
    {
        _tracker.Dispose();
        _errorQueue.Dispose();
    }
}
