using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Daemon.Api;

namespace RtUdp.Daemon.Outcomes;

/// <summary>
/// Drains one channel's TX report ring while anyone watches its outcomes, and offers each report to every
/// subscriber. It is the ring's only consumer. It asks the engine for reports when it starts (and again
/// on each new engine's handle, after a restart) and stops asking when the last subscriber leaves, so an
/// unwatched channel costs the engine no report work. What was in the ring before it started is skipped:
/// it belongs to no subscriber. A subscriber is attached (<see cref="OutcomeSubscription.Attach"/>) only
/// once reports are requested and in the same round as the drain that first offers it reports, so every
/// report written after its client was told it is subscribed reaches it.
/// </summary>
internal sealed class OutcomePump(ChannelEntry entry, Func<IReadOnlyList<OutcomeSubscription>?> subscribers)
{
    public const string EngineLostReason = "engine report ring full";

    private static readonly TimeSpan Idle = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan Detached = TimeSpan.FromMilliseconds(20);
    private readonly TxReportRecord[] _batch = new TxReportRecord[4096];

    /// <summary>Runs until <paramref name="subscribers"/> says there are none left (null), or the channel is deleted.</summary>
    public async Task RunAsync()
    {
        ChannelHandle? handle = null;
        long lostSeen = 0;
        try
        {
            while (subscribers() is { } current)
            {
                using ChannelEntry.Lease? lease = entry.Enter();
                if (lease is null)
                {
                    await Task.Delay(Detached).ConfigureAwait(false);
                    continue;
                }
                if (!ReferenceEquals(lease.Handle, handle))
                {
                    bool first = handle is null;
                    handle = lease.Handle;
                    handle.RequestReports(true);
                    lostSeen = handle.Region.Read(ChannelCounter.TxReportsLost);
                    while (first && handle.DrainRecords(_batch) > 0)
                    {
                        // Reports from before anyone asked (an earlier pump's leftovers): nobody's, as nobody is attached
                        // yet. A new engine's handle (after a restart) starts with an empty ring, and what its engine
                        // writes from now on is the attached subscribers': drained for them, not skipped.
                    }
                }
                // Taken in before the drain: each report drained from here on is offered to them.
                foreach (OutcomeSubscription s in current)
                {
                    s.Attach();
                }
                int drained = Drain(lease.Handle, current, ref lostSeen);
                if (drained == 0)
                {
                    await Task.Delay(Idle).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            using ChannelEntry.Lease? lease = entry.Enter();
            lease?.Handle.RequestReports(false);
        }
    }

    private int Drain(ChannelHandle handle, IReadOnlyList<OutcomeSubscription> current, ref long lostSeen)
    {
        int total = 0;
        long missed = 0;
        long lost = handle.Region.Read(ChannelCounter.TxReportsLost) - lostSeen;
        if (lost > 0)
        {
            // Read before the drain: the ring overflowed before what is in it now was written.
            lostSeen += lost;
            foreach (OutcomeSubscription s in current)
            {
                s.OfferGap(lost, EngineLostReason);
            }
            missed += lost * current.Count;
        }
        int n;
        while ((n = handle.DrainRecords(_batch)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                foreach (OutcomeSubscription s in current)
                {
                    missed += s.Offer(_batch[i]);
                }
            }
            total += n;
            if (n < _batch.Length)
            {
                break;
            }
        }
        foreach (OutcomeSubscription s in current)
        {
            s.Publish();
        }
        entry.CountOutcomes(0, missed);
        return total;
    }
}
