using RtUdp.Core.Contract.Channels;

namespace RtUdp.Core.Engine.Send;

/// <summary>
/// How long before a packet's time the send worker stops sleeping and spins (the margin), within a
/// budget: RT throttling takes the CPU from SCHED_FIFO threads that run more than 95% of each second,
/// and a hybrid worker whose margin approaches the packet interval would spin all the time. So at
/// SCHED_FIFO spinning gets a budget per second; past it, the worker only sleeps until the window ends.
/// </summary>
public sealed class SpinBudget
{
    private const long WindowNs = 1_000_000_000;
    private const long FifoBudgetNs = WindowNs / 2;

    private readonly ChannelRegion _region;
    private readonly long _marginNs;
    private readonly long _budgetNs;
    private long _windowStart;
    private long _spentInWindow;
    private bool _exhausted;

    public SpinBudget(ChannelRegion region)
    {
        _region = region;
        ChannelConfigBlock config = region.Config;
        _marginNs = (TimingStrategy)config.Timing switch
        {
            TimingStrategy.Sleep => 0,
            TimingStrategy.Spin => long.MaxValue / 2,
            _ => config.SpinMarginNs,
        };
        _budgetNs = config.Priority > 0 ? FifoBudgetNs : long.MaxValue;
    }

    /// <summary>The margin to spin before a packet's time, or 0 once this second's budget is spent.</summary>
    public long Margin(long now)
    {
        if (now - _windowStart >= WindowNs)
        {
            _windowStart = now;
            _spentInWindow = 0;
            _exhausted = false;
        }
        if (_spentInWindow < _budgetNs)
        {
            return _marginNs;
        }
        if (!_exhausted)
        {
            _exhausted = true;
            _region.Add(ChannelCounter.SpinBudgetExhausted, 1);
        }
        return 0;
    }

    public void Spent(long spinNs) => _spentInWindow += spinNs;
}
