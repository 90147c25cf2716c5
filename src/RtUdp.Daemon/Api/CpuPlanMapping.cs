using RtUdp.Core.Capabilities;
using RtUdp.Core.Engine.Cpus;
using RtUdp.Core.Native;
using V1CpuPlan = RtUdp.V1.CpuPlan;

namespace RtUdp.Daemon.Api;

/// <summary>The engine's cpu-plan.json as the API's CpuPlan, with where rtudpd itself runs.</summary>
public static class CpuPlanMapping
{
    public const string ChannelPrefix = "channels/";

    public static V1CpuPlan ToProto(CpuPlanReport? plan)
    {
        var result = new V1CpuPlan();
        try
        {
            result.DaemonCpus.AddRange(HostCpus.Affinity(Environment.ProcessId));
        }
        catch (NativeCallException)
        {
            // Our own main thread: cannot fail short of a broken kernel; the plan is still worth answering.
        }
        if (plan is null)
        {
            return result;
        }
        result.EngineCpus.AddRange(plan.Allowed);
        result.HousekeepingCpus.AddRange(plan.Housekeeping);
        result.ConductorCpus.AddRange(plan.Conductor);
        result.UnpinnedCpus.AddRange(plan.UnpinnedCpus);
        result.UnpinnedRealtime = plan.UnpinnedRealtime;
        foreach (OwnedCpu owned in plan.Owned)
        {
            var item = new V1.OwnedCpu { Cpu = owned.Cpu, Shared = owned.Shared };
            foreach (CpuOwner owner in owned.Owners)
            {
                item.Owners.Add(new V1.CpuOwner { Channel = ChannelPrefix + owner.Channel, Worker = owner.Worker, Shares = owner.Shares });
            }
            result.Owned.Add(item);
        }
        foreach (PlannedWorker worker in plan.Workers)
        {
            result.Workers.Add(new V1.PlannedWorker
            {
                Channel = ChannelPrefix + worker.Channel,
                Worker = worker.Worker,
                ThreadId = worker.ThreadId,
                Pinned = worker.Pinned,
                Cpus = { worker.Cpus },
                Scheduling = worker.Scheduling,
                RealtimeMode = worker.RealtimeMode,
                Kind = worker.Kind,
            });
        }
        return result;
    }
}
