using System.Text;
using RtUdp.V1;

namespace RtUdp.Ctl.Output;

/// <summary>The engine's CPU plan as rtudpctl caps prints it: one line per CPU, then one per worker.</summary>
internal static class CpuPlanText
{
    public static string Format(CpuPlan plan)
    {
        var text = new StringBuilder();
        var cpus = new Table("CPU", "PLAN");
        IEnumerable<int> all = plan.EngineCpus.Concat(plan.DaemonCpus).Distinct().Order();
        foreach (int cpu in all)
        {
            var roles = new List<string>();
            if (plan.Owned.FirstOrDefault(o => o.Cpu == cpu) is { } owned)
            {
                string owners = string.Join(", ", owned.Owners.Select(o => $"{o.Channel} ({o.Worker})"));
                roles.Add(owned.Shared ? $"shared by {owners}" : $"owned by {owners}");
            }
            if (plan.UnpinnedCpus.Contains(cpu))
            {
                roles.Add(plan.UnpinnedRealtime ? "unpinned workers" : "unpinned workers (SCHED_OTHER: every CPU is owned)");
            }
            if (plan.HousekeepingCpus.Contains(cpu))
            {
                roles.Add("housekeeping");
            }
            if (plan.DaemonCpus.Contains(cpu))
            {
                roles.Add("rtudpd");
            }
            if (plan.ConductorCpus.Contains(cpu))
            {
                roles.Add("engine conductor");
            }
            if (!plan.EngineCpus.Contains(cpu))
            {
                roles.Add("not the engine's");
            }
            cpus.Add(cpu, roles.Count == 0 ? "-" : string.Join("; ", roles));
        }
        text.Append(cpus);
        if (plan.Workers.Count > 0)
        {
            text.AppendLine();
            var workers = new Table("WORKER", "KIND", "THREAD", "CPUS", "SCHEDULING", "MODE");
            foreach (PlannedWorker w in plan.Workers)
            {
                workers.Add($"{w.Channel} {w.Worker}", w.Kind.Length == 0 ? "-" : w.Kind, w.ThreadId, (w.Pinned ? "pinned " : "") + Cpus(w.Cpus), w.Scheduling, w.RealtimeMode);
            }
            text.Append(workers);
        }
        return text.ToString();
    }

    private static string Cpus(IEnumerable<int> cpus) => cpus.Any() ? string.Join(',', cpus) : "-";
}
