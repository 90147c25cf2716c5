namespace RtUdp.Core.Engine;

/// <summary>
/// How long a busy-polling thread may stay awake in each second. RT throttling (sched_rt_runtime_us, 95% of
/// each second by default) takes the CPU from SCHED_FIFO threads that together run longer, for the rest of
/// the second: a FIFO thread that spins on its socket or ring would lose its CPU for 50 ms at a time. So at
/// SCHED_FIFO a busy-poller stays awake at most <see cref="FifoBudgetNs"/> of each second (the rest is left
/// to the CPU's other real-time work), then sleeps in its ordinary wait until the second is over. At
/// SCHED_OTHER the scheduler shares the CPU anyway: no budget. Used by one thread; allocates nothing.
/// </summary>
/// <remarks>
/// The time charged is the time awake between two <see cref="TrySpin"/> calls (spinning and the work done
/// between reads alike, as RT throttling counts it), from the first call after a sleep.
/// </remarks>
public sealed class BusyPollBudget
{
    public const long WindowNs = 1_000_000_000;

    /// <summary>90% of each second: below RT throttling's 95%, with room for the CPU's other real-time threads.</summary>
    public const long FifoBudgetNs = 900_000_000;

    private readonly long _budgetNs;
    private long _windowStart = long.MinValue;
    private long _spentInWindow;
    private long _awakeSince = -1;
    private bool _exhausted;

    public BusyPollBudget(long budgetNs)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(budgetNs);
        _budgetNs = budgetNs;
    }

    /// <summary>The budget for a thread of this priority: FIFO (1-99) has one, SCHED_OTHER (0) none.</summary>
    public static BusyPollBudget ForPriority(int priority) => new(priority > 0 ? FifoBudgetNs : long.MaxValue);

    /// <summary>Time awake charged in the current window (for tests and reports).</summary>
    public long SpentInWindow => _spentInWindow;

    /// <summary>
    /// Whether the thread may go on spinning at <paramref name="now"/> (CLOCK_MONOTONIC ns); charges the time
    /// awake since the last call. False once this window's budget is spent: the thread must sleep.
    /// </summary>
    /// <param name="exhaustedNow">True the first time in a window the budget ran out (count it once per window).</param>
    public bool TrySpin(long now, out bool exhaustedNow)
    {
        exhaustedNow = false;
        if (_awakeSince >= 0)
        {
            _spentInWindow += now - _awakeSince;
        }
        if (_windowStart == long.MinValue || now - _windowStart >= WindowNs)
        {
            _windowStart = now;
            _spentInWindow = 0;
            _exhausted = false;
        }
        if (_spentInWindow < _budgetNs)
        {
            _awakeSince = now;
            return true;
        }
        if (!_exhausted)
        {
            _exhausted = true;
            exhaustedNow = true;
        }
        _awakeSince = -1;
        return false;
    }

    /// <summary>The thread goes to sleep (poll, futex): the time until its next <see cref="TrySpin"/> is not charged.</summary>
    public void Sleeping() => _awakeSince = -1;
}
