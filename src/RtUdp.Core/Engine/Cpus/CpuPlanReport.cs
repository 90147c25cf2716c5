using System.Text.Json;
using System.Text.Json.Serialization;

namespace RtUdp.Core.Engine.Cpus;

/// <summary>
/// The engine's CPU plan as rtudpd reads it (cpu-plan.json beside the control file, rewritten by the
/// conductor whenever a channel comes, goes, starts or stops): which CPU belongs to which channel, what is
/// shared, and where each worker runs.
/// </summary>
public sealed record CpuPlanReport
{
    public const string FileName = "cpu-plan.json";

    /// <summary>The CPUs the engine may use.</summary>
    public required IReadOnlyList<int> Allowed { get; init; }

    /// <summary>The CPUs configured for rtudpd and the engine's conductor (empty: none set).</summary>
    public required IReadOnlyList<int> Housekeeping { get; init; }

    /// <summary>Where the engine's conductor runs (its affinity).</summary>
    public required IReadOnlyList<int> Conductor { get; init; }

    public required IReadOnlyList<OwnedCpu> Owned { get; init; }

    /// <summary>The CPUs unpinned workers run on.</summary>
    public required IReadOnlyList<int> UnpinnedCpus { get; init; }

    /// <summary>False when every CPU is owned: unpinned workers then run SCHED_OTHER.</summary>
    public required bool UnpinnedRealtime { get; init; }

    /// <summary>Every worker of a running channel.</summary>
    public required IReadOnlyList<PlannedWorker> Workers { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, CpuPlanJsonContext.Default.CpuPlanReport);

    /// <exception cref="JsonException">Not a CPU plan.</exception>
    public static CpuPlanReport FromJson(string json) =>
        JsonSerializer.Deserialize(json, CpuPlanJsonContext.Default.CpuPlanReport) ?? throw new JsonException("CPU plan JSON is null");

    /// <summary>Writes the file whole (a reader never sees half of it).</summary>
    public void WriteTo(string directory)
    {
        string path = Path.Combine(directory, FileName);
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, ToJson());
        File.Move(temporary, path, overwrite: true);
    }
}

/// <summary>A CPU and the pinned workers that own it (more than one only when they share).</summary>
public sealed record OwnedCpu(int Cpu, IReadOnlyList<CpuOwner> Owners)
{
    public bool Shared => Owners.Select(o => o.Channel).Distinct().Count() > 1;
}

public sealed record CpuOwner(string Channel, uint ChannelId, string Worker, bool Shares);

/// <summary>A running worker: its channel, role, thread, the CPUs it may run on and its scheduling.</summary>
/// <param name="Pinned">Pinned to its one CPU (owned), else placed by the plan.</param>
/// <param name="Scheduling">"SCHED_FIFO 80" or "SCHED_OTHER".</param>
public sealed record PlannedWorker(string Channel, uint ChannelId, string Worker, int ThreadId, bool Pinned, IReadOnlyList<int> Cpus, string Scheduling, string RealtimeMode, string Kind = "");

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(CpuPlanReport))]
internal sealed partial class CpuPlanJsonContext : JsonSerializerContext;
