using RtUdp.Core.Capabilities;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Native;

namespace RtUdp.Daemon.Hosting;

/// <summary>How a channel setting fares on this host.</summary>
public enum HostVerdict
{
    /// <summary>It can never work here (a CPU that does not exist): INVALID_ARGUMENT.</summary>
    Invalid,

    /// <summary>It cannot work in the host's present state (a CPU outside the cpuset, a priority beyond the limits, with REQUIRE_REALTIME): FAILED_PRECONDITION.</summary>
    Precondition,

    /// <summary>The channel runs without it, and says so (notes).</summary>
    Degraded,
}

/// <summary>One setting the host does not honour as asked.</summary>
/// <param name="Field">The channel field in snake_case, as ChannelConfig.Validate names them ("send_cpu").</param>
public sealed record HostFinding(string Field, string Message, HostVerdict Verdict)
{
    /// <summary>"priority 80: ..." for a channel's notes.</summary>
    public string Note => $"{Field}: {Message}";
}

/// <summary>
/// Checks a channel's settings against what the engine process may do on this host: its workers' CPUs
/// exist and are in the engine's affinity (cgroup cpuset), and its SCHED_FIFO priority is within
/// RLIMIT_RTPRIO or CAP_SYS_NICE. A priority beyond them degrades the channel (SCHED_OTHER, noted) unless
/// it has CHANNEL_FLAG_REQUIRE_REALTIME. Used at CreateChannel, for the configured channels at start and
/// for every channel restored into a new engine.
/// </summary>
public static class ChannelHostCheck
{
    /// <param name="limits">Null when they could not be read: the priority is not checked (the engine still reports what it got).</param>
    public static IReadOnlyList<HostFinding> Check(ChannelConfig config, HostCpus cpus, RealtimeLimits? limits)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(cpus);
        var findings = new List<HostFinding>();
        if (config.Sends)
        {
            CheckCpu("send_cpu", config.SendCpu, cpus, findings);
        }
        if (config.Receives)
        {
            CheckCpu("receive_cpu", config.ReceiveCpu, cpus, findings);
        }
        if (limits is not null && config.Priority > 0 && !limits.Permits(config.Priority))
        {
            string permitted = limits.MaxFifoPriority == 0 ? "no SCHED_FIFO priority" : $"SCHED_FIFO priorities up to {limits.MaxFifoPriority}";
            findings.Add(config.Flags.HasFlag(ChannelFlags.RequireRealtime)
                ? new HostFinding("priority", $"SCHED_FIFO priority {config.Priority}: the engine may set {permitted} ({limits.Describe()}), and the channel requires real time", HostVerdict.Precondition)
                : new HostFinding("priority", $"SCHED_FIFO priority {config.Priority} asked, SCHED_OTHER in effect: the engine may set {permitted} ({limits.Describe()})", HostVerdict.Degraded));
        }
        return findings;
    }

    /// <summary>
    /// The CPUs and limits of process <paramref name="pid"/> (the engine). Null limits when they cannot be
    /// read; null CPUs (and limits) when the process is gone, its CPUs unknowable: nothing is checked then,
    /// and the engine's own set-up decides.
    /// </summary>
    /// <param name="engine">The engine's connection: the CPUs it plans workers over are its own (cpu-plan.json),
    /// not its main thread's affinity, which housekeeping CPUs narrow.</param>
    public static (HostCpus? Cpus, RealtimeLimits? Limits, string? Error) FactsOf(int pid, Core.EngineLink.EngineConnection? engine = null)
    {
        HostCpus cpus;
        try
        {
            cpus = HostCpus.Of(pid);
            if (PlannedCpus(engine) is { Count: > 0 } planned)
            {
                cpus = cpus with { Allowed = planned };
            }
        }
        catch (NativeCallException e)
        {
            return (null, null, e.Message);
        }
        try
        {
            return (cpus, RealtimeLimits.Of(pid), null);
        }
        catch (Exception e) when (e is NativeCallException or IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return (cpus, null, e.Message);
        }
    }

    private static IReadOnlyList<int>? PlannedCpus(Core.EngineLink.EngineConnection? engine)
    {
        try
        {
            return engine?.ReadCpuPlan()?.Allowed;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static void CheckCpu(string field, int cpu, HostCpus cpus, List<HostFinding> findings)
    {
        if (cpu < 0)
        {
            return;
        }
        if (!cpus.Exists(cpu))
        {
            findings.Add(new HostFinding(field, $"cpu {cpu}: this host has CPUs {HostCpus.Format(cpus.Online)}", HostVerdict.Invalid));
        }
        else if (!cpus.IsAllowed(cpu))
        {
            findings.Add(new HostFinding(field, $"cpu {cpu}: not in the CPUs the engine may use ({HostCpus.Format(cpus.Allowed)}: its affinity and cgroup cpuset)", HostVerdict.Precondition));
        }
    }
}
