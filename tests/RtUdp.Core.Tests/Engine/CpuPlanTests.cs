using RtUdp.Core.Engine.Cpus;

namespace RtUdp.Core.Tests.Engine;

/// <summary>The ownership rules of the engine's CPU plan, on a made-up 4-CPU host.</summary>
public sealed class CpuPlanTests
{
    private static CpuPlan Plan(params int[] housekeeping) => new([0, 1, 2, 3], housekeeping);

    [Fact]
    public void A_pinned_worker_owns_its_cpu_and_another_channel_is_refused_naming_the_owner()
    {
        CpuPlan plan = Plan();
        plan.Claim(1, "timed", sendCpu: 2, receiveCpu: -1, sends: true, receives: false, share: false);

        CpuOwnedException refused = Assert.Throws<CpuOwnedException>(() => plan.Claim(2, "bulk", sendCpu: -1, receiveCpu: 2, sends: false, receives: true, share: false));
        Assert.Equal("receive_cpu", refused.Field);
        Assert.StartsWith("receive_cpu: CPU 2 is owned by channel 'timed' (its send worker)", refused.Message, StringComparison.Ordinal);
        Assert.Contains("CHANNEL_FLAG_SHARE_CPU", refused.Message, StringComparison.Ordinal);
        // Refused whole: nothing of the refused channel is held.
        Assert.Equal([2], plan.Owned);
        Assert.All(plan.Claims, c => Assert.Equal(1u, c.ChannelId));
    }

    [Fact]
    public void A_channels_own_two_workers_may_share_a_cpu()
    {
        CpuPlan plan = Plan();
        plan.Claim(1, "duplex", sendCpu: 3, receiveCpu: 3, sends: true, receives: true, share: false);
        Assert.Equal(2, plan.OwnersOf(3).Count());
    }

    [Fact]
    public void Sharing_works_when_the_new_channel_asks_for_it()
    {
        CpuPlan plan = Plan();
        plan.Claim(1, "a", 1, -1, true, false, share: false);
        plan.Claim(2, "b", 1, -1, true, false, share: true);
        Assert.Equal(["a", "b"], plan.OwnersOf(1).Select(c => c.Channel));
    }

    [Fact]
    public void Only_the_directions_workers_claim_cpus()
    {
        CpuPlan plan = Plan();
        plan.Claim(1, "tx", sendCpu: 1, receiveCpu: 2, sends: true, receives: false, share: false);
        Assert.Equal([1], plan.Owned);
    }

    [Fact]
    public void Unpinned_workers_run_on_the_cpus_nobody_owns_and_the_plan_follows_deletes()
    {
        CpuPlan plan = Plan();
        AssertPlacement(plan.Unpinned, [0, 1, 2, 3], true);
        plan.Claim(1, "a", 1, -1, true, false, false);
        plan.Claim(2, "b", 3, -1, true, false, false);
        AssertPlacement(plan.Unpinned, [0, 2], true);

        Assert.True(plan.Release(1));
        Assert.False(plan.Release(1));
        AssertPlacement(plan.Unpinned, [0, 1, 2], true);
    }

    [Fact]
    public void Unpinned_workers_keep_off_the_housekeeping_cpus_while_others_are_left()
    {
        CpuPlan plan = Plan(0);
        Assert.Equal([1, 2, 3], plan.Unpinned.Cpus);
        plan.Claim(1, "a", 1, -1, true, false, false);
        plan.Claim(2, "b", 2, -1, true, false, false);
        plan.Claim(3, "c", 3, -1, true, false, false);
        // Only the housekeeping CPU is left: better there than nowhere.
        AssertPlacement(plan.Unpinned, [0], true);
    }

    [Fact]
    public void With_every_cpu_owned_unpinned_workers_run_sched_other_anywhere()
    {
        CpuPlan plan = new([0, 1], []);
        plan.Claim(1, "a", 0, -1, true, false, false);
        plan.Claim(2, "b", 1, -1, true, false, false);
        AssertPlacement(plan.Unpinned, [0, 1], false);
    }

    private static void AssertPlacement(UnpinnedPlacement placement, int[] cpus, bool realtime)
    {
        Assert.Equal(cpus, placement.Cpus);
        Assert.Equal(realtime, placement.RealtimeAllowed);
    }
}
