using System.Collections.Concurrent;
using RtUdp.Core.Contract.Channels;

namespace RtUdp.Daemon.Outcomes;

/// <summary>
/// One WatchOutcomes call's queue. The channel's pump (a single writer) offers each report; a report that
/// finds the queue full is not queued but counted, and the count goes in as a gap record before the next
/// report that fits, at the place where they were missed. The pump never waits for a subscriber.
/// </summary>
public sealed class OutcomeSubscription(OutcomeFilter filter, int capacity)
{
    public const string BehindReason = "subscriber behind";

    private readonly ConcurrentQueue<OutcomeItem> _queue = new();
    private readonly TaskCompletionSource _attached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _wake = NewWake();
    private int _count;
    private long _missedHere; // pump only
    private volatile bool _ended;

    public OutcomeFilter Filter => filter;

    /// <summary>Set when the channel went (deleted) or the pump stopped for good: the stream ends once drained.</summary>
    public bool Ended => _ended;

    /// <summary>
    /// Completes when the channel's pump has taken this subscriber in (reports requested from the engine, and
    /// every report it drains from then on offered to it), or when the subscription ended first. Only then
    /// may the client be told that it is subscribed: outcomes of packets sent after that are in its stream.
    /// </summary>
    public Task Attached => _attached.Task;

    /// <summary>Pump: from now on every report drained is offered to this subscriber.</summary>
    internal void Attach() => _attached.TrySetResult();

    /// <summary>Pump: the next report. Returns how many outcomes this subscriber missed now (0 or 1).</summary>
    internal int Offer(in TxReportRecord report)
    {
        if (!filter.Accepts(report))
        {
            return 0;
        }
        if (Volatile.Read(ref _count) >= capacity)
        {
            _missedHere++;
            return 1;
        }
        FlushGap(BehindReason);
        Enqueue(OutcomeItem.Of(report));
        return 0;
    }

    /// <summary>Pump: outcomes nobody got (the engine's report ring overflowed), in their place.</summary>
    internal void OfferGap(long missed, string reason)
    {
        FlushGap(BehindReason);
        Enqueue(OutcomeItem.Gap(missed, reason));
    }

    /// <summary>Pump: after each batch (and when idle), the gap so far once there is room for it, and wake the reader.</summary>
    internal void Publish()
    {
        if (_missedHere != 0 && Volatile.Read(ref _count) < capacity)
        {
            FlushGap(BehindReason);
        }
        if (Volatile.Read(ref _count) > 0)
        {
            Volatile.Read(ref _wake).TrySetResult();
        }
    }

    internal void End()
    {
        _ended = true;
        _attached.TrySetResult();
        Volatile.Read(ref _wake).TrySetResult();
    }

    /// <summary>Takes up to <paramref name="max"/> items, waiting for the first; empty once ended and drained.</summary>
    public async Task<int> ReadAsync(List<OutcomeItem> into, int max, CancellationToken cancellationToken)
    {
        while (true)
        {
            int taken = 0;
            while (taken < max && _queue.TryDequeue(out OutcomeItem item))
            {
                Interlocked.Decrement(ref _count);
                into.Add(item);
                taken++;
            }
            if (taken > 0 || _ended)
            {
                return taken;
            }
            // Read the wake before looking at the queue again: a report offered after the look completes it.
            TaskCompletionSource wake = Volatile.Read(ref _wake);
            if (wake.Task.IsCompleted)
            {
                Interlocked.CompareExchange(ref _wake, NewWake(), wake);
                continue;
            }
            if (!_queue.IsEmpty || _ended)
            {
                continue;
            }
            await wake.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static TaskCompletionSource NewWake() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void FlushGap(string reason)
    {
        if (_missedHere != 0)
        {
            Enqueue(OutcomeItem.Gap(_missedHere, reason));
            _missedHere = 0;
        }
    }

    private void Enqueue(in OutcomeItem item)
    {
        _queue.Enqueue(item);
        Interlocked.Increment(ref _count);
    }
}
