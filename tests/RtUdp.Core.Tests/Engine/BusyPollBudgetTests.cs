using RtUdp.Core.Engine;

namespace RtUdp.Core.Tests.Engine;

/// <summary>The busy-poll budget on a made-up clock: 90% of each second awake at SCHED_FIFO, no limit at SCHED_OTHER.</summary>
public sealed class BusyPollBudgetTests
{
    private const long Ms = 1_000_000;

    [Fact]
    public void A_fifo_thread_spins_until_90_percent_of_the_second_then_sleeps_until_the_next()
    {
        BusyPollBudget budget = BusyPollBudget.ForPriority(80);
        for (long t = 0; t < 900 * Ms; t += Ms)
        {
            Assert.True(budget.TrySpin(t, out bool exhausted));
            Assert.False(exhausted);
        }
        // 900 ms awake since the window opened: spent.
        Assert.False(budget.TrySpin(900 * Ms, out bool first));
        Assert.True(first);
        // Counted once per window; still no spinning until the second is over.
        Assert.False(budget.TrySpin(950 * Ms, out bool again));
        Assert.False(again);
        Assert.True(budget.TrySpin(1000 * Ms, out bool next));
        Assert.False(next);
        Assert.Equal(0, budget.SpentInWindow);
    }

    [Fact]
    public void Spinning_in_fine_steps_is_stopped_at_90_percent_of_each_second()
    {
        BusyPollBudget budget = BusyPollBudget.ForPriority(80);
        long refusedFirst = -1;
        int exhaustions = 0;
        for (long t = 5_000 * Ms; t < 7_000 * Ms; t += 1000)
        {
            if (!budget.TrySpin(t, out bool exhausted) && refusedFirst < 0)
            {
                refusedFirst = t;
            }
            exhaustions += exhausted ? 1 : 0;
        }
        Assert.Equal(5_900 * Ms, refusedFirst);
        Assert.Equal(2, exhaustions);
    }

    [Fact]
    public void Time_asleep_is_not_charged()
    {
        BusyPollBudget budget = BusyPollBudget.ForPriority(1);
        Assert.True(budget.TrySpin(0, out _));
        Assert.True(budget.TrySpin(400 * Ms, out _));
        budget.Sleeping();
        // 500 ms in poll: only the 400 ms before it count, and the spin after it starts a new stretch.
        Assert.True(budget.TrySpin(900 * Ms, out _));
        Assert.Equal(400 * Ms, budget.SpentInWindow);
        Assert.True(budget.TrySpin(999 * Ms, out _));
        Assert.Equal(499 * Ms, budget.SpentInWindow);
    }

    [Fact]
    public void A_sched_other_thread_has_no_budget()
    {
        BusyPollBudget budget = BusyPollBudget.ForPriority(0);
        for (long t = 0; t <= 3000 * Ms; t += 10 * Ms)
        {
            Assert.True(budget.TrySpin(t, out bool exhausted));
            Assert.False(exhausted);
        }
    }
}
