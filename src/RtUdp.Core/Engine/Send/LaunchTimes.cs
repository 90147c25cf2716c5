using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Native;
using RtUdp.Core.Timestamping;

namespace RtUdp.Core.Engine.Send;

/// <summary>
/// Launch time (SO_TXTIME): each packet's CLOCK_MONOTONIC due time in the clock of the qdisc that holds
/// it until then (CLOCK_TAI for etf and taprio, CLOCK_MONOTONIC for fq), or, for an xdp channel whose device
/// launches frames itself, in that device's PTP hardware clock; kept non-decreasing.
/// </summary>
public sealed class LaunchTimes
{
    private readonly ChannelRegion _region;
    private readonly LaunchClock _clock;
    private readonly long _taiMinusRealtime;
    private long _monotonicToClock;
    private long _last;

    public LaunchTimes(ChannelRegion region)
    {
        _region = region;
        _clock = (LaunchClock)region.Mode.Launch;
        _taiMinusRealtime = region.Mode.TaiOffsetSeconds * 1_000_000_000L;
    }

    /// <summary>Whether launch time is in effect for the channel.</summary>
    public bool Enabled => _clock != LaunchClock.None;

    /// <summary>Turns SO_TXTIME on for the socket, in the qdisc's clock.</summary>
    public void Enable(int fd, bool deadlineMode) =>
        SockTxtime.Enable(fd, _clock == LaunchClock.Tai ? Libc.CLOCK_TAI : Libc.CLOCK_MONOTONIC, deadlineMode);

    /// <summary>Once per batch: CLOCK_TAI = CLOCK_REALTIME + the kernel's TAI offset, sampled now, so a wall-clock step is followed.</summary>
    /// <remarks>The PHC's offset is the conductor's latest (a torn or missing reading keeps the previous one).</remarks>
    public void BeginBatch()
    {
        if (_clock == LaunchClock.Phc)
        {
            if (_region.PhcOffset.TryRead(out ClockOffset phc))
            {
                _monotonicToClock = phc.OffsetNs;
            }
            return;
        }
        _monotonicToClock = _clock == LaunchClock.Tai ? ClockSampler.Sample(Libc.CLOCK_REALTIME, rounds: 2).OffsetNs + _taiMinusRealtime : 0;
    }

    /// <summary>The packet's launch time in the qdisc's clock.</summary>
    public long For(long dueNs)
    {
        long launch = dueNs + _monotonicToClock;
        if (launch < _last)
        {
            // etf drops a packet whose time is earlier than one already queued: keep times non-decreasing.
            launch = _last;
            _region.Add(ChannelCounter.LaunchReordered, 1);
        }
        _last = launch;
        return launch;
    }
}
