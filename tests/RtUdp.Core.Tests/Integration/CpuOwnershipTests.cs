using System.Net;
using System.Text.RegularExpressions;
using RtUdp.Core.Capabilities;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.Engine.Cpus;
using RtUdp.Core.EngineLink;
using Xunit.Abstractions;

namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// The CPU plan against the real engine: worker threads' affinity and policy read back from the kernel. Needs
/// two CPUs (says SKIPPED otherwise); the SCHED_FIFO steps need root (CAP_SYS_NICE) and say so.
/// </summary>
public sealed partial class CpuOwnershipTests(EngineFixture fixture, ITestOutputHelper log) : IClassFixture<EngineFixture>
{
    private static bool IsRoot => Environment.UserName == "root";

    private IReadOnlyList<int> EngineCpus => HostCpus.Of(fixture.Engine.Pid).Allowed;

    private ChannelConfig Sender(string name, int cpu, int priority = 0, ChannelFlags flags = ChannelFlags.None) => new()
    {
        Id = fixture.NextId(),
        Name = name,
        Direction = ChannelDirection.Send,
        Local = new IPEndPoint(IPAddress.Loopback, 0),
        Remote = new IPEndPoint(IPAddress.Loopback, 9),
        Capacity = 64,
        MaxPayload = 64,
        SendCpu = cpu,
        Priority = priority,
        Timing = TimingStrategy.Sleep,
        Flags = flags,
    };

    private ChannelHandle Started(ChannelConfig config)
    {
        ChannelHandle handle = fixture.Client.CreateChannel(config);
        fixture.Client.StartChannel(handle.Id);
        return handle;
    }

    private bool HasTwoCpus()
    {
        if (EngineCpus.Count >= 2)
        {
            return true;
        }
        log.WriteLine($"SKIPPED: the engine has CPUs {HostCpus.Format(EngineCpus)}; the plan needs two to keep one from unpinned workers");
        return false;
    }

    private int PolicyOf(int tid) =>
        int.Parse(PolicyLine().Match(File.ReadAllText($"/proc/{fixture.Engine.Pid}/task/{tid}/sched")).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    [GeneratedRegex(@"policy\s+:\s+(\d+)")]
    private static partial Regex PolicyLine();

    [Fact]
    public void Owned_cpus_are_kept_from_unpinned_workers_and_given_back_on_delete()
    {
        if (!HasTwoCpus())
        {
            return;
        }
        IReadOnlyList<int> all = EngineCpus;
        int owned = all[^1];
        using ChannelHandle free = Started(Sender("free", -1));
        int tid = free.ReadStats().Sender.ThreadId;
        Assert.Equal(all, HostCpus.Affinity(tid));

        // A pinned channel arrives: the running unpinned worker moves off its CPU.
        using ChannelHandle owner = Started(Sender("owner", owned));
        Assert.Equal(all.Except([owned]), HostCpus.Affinity(tid));
        Assert.True(free.ReadStats().Sender.Mode.HasFlag(RealtimeMode.Confined), $"mode {free.ReadStats().Sender.Mode}");
        Assert.Equal([owned], HostCpus.Affinity(owner.ReadStats().Sender.ThreadId));

        // A worker started now is placed the same way from its first instruction.
        using ChannelHandle later = Started(Sender("later", -1));
        Assert.Equal(all.Except([owned]), HostCpus.Affinity(later.ReadStats().Sender.ThreadId));

        // The plan as rtudpd reads it.
        CpuPlanReport plan = fixture.Client.ReadCpuPlan()!;
        OwnedCpu ownedCpu = Assert.Single(plan.Owned);
        Assert.Equal(owned, ownedCpu.Cpu);
        Assert.Equal("owner", Assert.Single(ownedCpu.Owners).Channel);
        Assert.Equal(all.Except([owned]), plan.UnpinnedCpus);
        Assert.Contains(plan.Workers, w => w.Channel == "free" && w.ThreadId == tid && !w.Pinned && w.Cpus.SequenceEqual(all.Except([owned])));

        // Deleted: the CPU is everyone's again.
        fixture.Client.DeleteChannel(owner.Id);
        Assert.Equal(all, HostCpus.Affinity(tid));
        Assert.Empty(fixture.Client.ReadCpuPlan()!.Owned);
        fixture.Client.DeleteChannel(free.Id);
        fixture.Client.DeleteChannel(later.Id);
    }

    [Fact]
    public void Another_channel_asking_for_an_owned_cpu_is_refused_naming_the_owner_unless_it_shares()
    {
        int cpu = EngineCpus[0];
        using ChannelHandle owner = Started(Sender("first-owner", cpu));

        EngineCommandException refused = Assert.Throws<EngineCommandException>(() => fixture.Client.CreateChannel(Sender("second", cpu)));
        Assert.Equal(EngineStatus.FailedPrecondition, refused.Status);
        Assert.Equal("send_cpu", refused.Field);
        Assert.Contains($"CPU {cpu} is owned by channel 'first-owner' (its send worker)", refused.Message, StringComparison.Ordinal);

        using ChannelHandle sharer = Started(Sender("sharer", cpu, flags: ChannelFlags.ShareCpu));
        Assert.Equal([cpu], HostCpus.Affinity(sharer.ReadStats().Sender.ThreadId));
        OwnedCpu shared = Assert.Single(fixture.Client.ReadCpuPlan()!.Owned);
        Assert.True(shared.Shared);
        Assert.Equal(["first-owner", "sharer"], shared.Owners.Select(o => o.Channel));

        fixture.Client.DeleteChannel(sharer.Id);
        fixture.Client.DeleteChannel(owner.Id);
        // Free again: a plain request is taken.
        using ChannelHandle next = Started(Sender("next-owner", cpu));
        fixture.Client.DeleteChannel(next.Id);
    }

    [Fact]
    public void With_every_cpu_owned_an_unpinned_worker_runs_sched_other_and_gets_its_priority_back_when_one_frees()
    {
        IReadOnlyList<int> all = EngineCpus;
        var owners = new List<ChannelHandle>();
        try
        {
            foreach (int cpu in all)
            {
                owners.Add(Started(Sender($"own-{cpu}", cpu)));
            }
            using ChannelHandle unpinned = Started(Sender("squeezed", -1, priority: 50));
            WorkerStatus worker = unpinned.ReadStats().Sender;
            Assert.True(worker.Mode.HasFlag(RealtimeMode.NoCpuLeft), $"mode {worker.Mode}");
            Assert.True(worker.Mode.HasFlag(RealtimeMode.Degraded), $"mode {worker.Mode}");
            Assert.False(worker.Mode.HasFlag(RealtimeMode.Fifo), $"mode {worker.Mode}");
            Assert.Equal(0, PolicyOf(worker.ThreadId)); // SCHED_OTHER
            Assert.False(fixture.Client.ReadCpuPlan()!.UnpinnedRealtime);
            Wait.Until(() => fixture.Log.Contains("every CPU the engine may use is owned by a pinned worker", StringComparison.Ordinal), TimeSpan.FromSeconds(5), () => fixture.Log);

            // One CPU frees: the worker goes there at the priority it asked for.
            fixture.Client.DeleteChannel(owners[^1].Id);
            owners[^1].Dispose();
            owners.RemoveAt(owners.Count - 1);
            worker = unpinned.ReadStats().Sender;
            Assert.Equal([all[^1]], HostCpus.Affinity(worker.ThreadId));
            Assert.False(worker.Mode.HasFlag(RealtimeMode.NoCpuLeft), $"mode {worker.Mode}");
            if (IsRoot)
            {
                Assert.True(worker.Mode.HasFlag(RealtimeMode.Fifo), $"mode {worker.Mode}");
                Assert.Equal(1, PolicyOf(worker.ThreadId)); // SCHED_FIFO
            }
            else
            {
                log.WriteLine("not root: SCHED_FIFO is not permitted, so the priority's return is not checked");
            }
            fixture.Client.DeleteChannel(unpinned.Id);
        }
        finally
        {
            foreach (ChannelHandle owner in owners)
            {
                fixture.Client.DeleteChannel(owner.Id);
                owner.Dispose();
            }
        }
    }

    [Fact]
    public void An_unpinned_worker_that_requires_real_time_is_refused_when_every_cpu_is_owned()
    {
        IReadOnlyList<int> all = EngineCpus;
        var owners = all.Select(cpu => Started(Sender($"req-own-{cpu}", cpu))).ToList();
        try
        {
            using ChannelHandle strict = fixture.Client.CreateChannel(Sender("strict", -1, priority: 50, flags: ChannelFlags.RequireRealtime));
            EngineCommandException error = Assert.Throws<EngineCommandException>(() => fixture.Client.StartChannel(strict.Id));
            Assert.Equal(EngineStatus.FailedPrecondition, error.Status);
            Assert.Contains("every CPU the engine may use is owned by a pinned worker", error.Message, StringComparison.Ordinal);
            fixture.Client.DeleteChannel(strict.Id);
        }
        finally
        {
            foreach (ChannelHandle owner in owners)
            {
                fixture.Client.DeleteChannel(owner.Id);
                owner.Dispose();
            }
        }
    }
}
