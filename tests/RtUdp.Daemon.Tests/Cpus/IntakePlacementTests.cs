using RtUdp.Core.Engine.Cpus;
using RtUdp.Daemon.Engine;

namespace RtUdp.Daemon.Tests.Cpus;

/// <summary>Where rtudpd puts its own threads, from the engine's plan (the moving itself: NeighbourTests).</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class IntakePlacementTests
{
    private static PlannedWorker Worker(bool pinned, string scheduling, params int[] cpus) =>
        new("c", 1, "send", 100, pinned, cpus, scheduling, "");

    private static CpuPlanReport Plan(params PlannedWorker[] workers) => new()
    {
        Allowed = [0, 1, 2, 3],
        Housekeeping = [],
        Conductor = [0, 1, 2, 3],
        Owned = [],
        UnpinnedCpus = [0, 1, 2, 3],
        UnpinnedRealtime = true,
        Workers = workers,
    };

    [Fact]
    public void Rtudpd_keeps_off_the_cpus_of_unpinned_sched_fifo_workers()
    {
        CpuPlanReport plan = Plan(Worker(pinned: true, "SCHED_FIFO 80", 3), Worker(pinned: false, "SCHED_FIFO 80", 0, 1, 2));
        Assert.Equal([3], IntakePlacement.Choose(plan, [0, 1, 2, 3]));
    }

    [Fact]
    public void Sched_other_and_pinned_workers_leave_rtudpd_everywhere()
    {
        CpuPlanReport plan = Plan(Worker(pinned: true, "SCHED_FIFO 80", 3), Worker(pinned: false, "SCHED_OTHER", 0, 1, 2));
        Assert.Equal([0, 1, 2, 3], IntakePlacement.Choose(plan, [0, 1, 2, 3]));
    }

    [Fact]
    public void With_no_cpu_left_rtudpd_stays_where_it_started()
    {
        CpuPlanReport plan = Plan(Worker(pinned: false, "SCHED_FIFO 50", 0, 1, 2, 3));
        Assert.Equal([0, 1, 2, 3], IntakePlacement.Choose(plan, [0, 1, 2, 3]));
        // Only CPUs it started with: the engine's plan may cover more (a launcher with a wider affinity).
        Assert.Equal([2], IntakePlacement.Choose(Plan(Worker(false, "SCHED_FIFO 50", 0, 1)), [1, 2]));
    }
}
