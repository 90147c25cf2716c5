using RtUdp.Core.Capabilities;
using RtUdp.Core.Engine.Cpus;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;

namespace RtUdp.Daemon.Engine;

/// <summary>
/// Keeps rtudpd's threads (the gRPC intake that feeds every channel) off the CPUs where unpinned SCHED_FIFO
/// workers run, while another CPU is left. Such a worker, kept busy by a bulk client, takes 95% of its CPU from
/// every SCHED_OTHER thread there; the other clients' calls then wait in rtudpd's threads on that CPU (up to
/// 0.5 s measured), and their packets reach the engine late. Follows the engine's plan (cpu-plan.json, looked at
/// every 100 ms). With Engine:HousekeepingCpus set, rtudpd stays where that puts it instead.
/// </summary>
public sealed partial class IntakePlacement(EngineSupervisor supervisor, EngineSupervisorOptions options, ILogger<IntakePlacement> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    /// <summary>rtudpd's CPUs before it moved itself.</summary>
    private readonly IReadOnlyList<int> _started = Started();

    private DateTime _planWritten;
    private IReadOnlyList<int> _current = [];

    /// <summary>The CPUs rtudpd runs on now (all it started with until the plan says otherwise).</summary>
    public IReadOnlyList<int> Current => _current.Count > 0 ? _current : _started;

    private static IReadOnlyList<int> Started()
    {
        try
        {
            return HostCpus.Of(Environment.ProcessId).Allowed;
        }
        catch (NativeCallException)
        {
            return [];
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.HousekeepingCpuList.Count > 0 || _started.Count < 2)
        {
            return; // placed by configuration, or nowhere else to go
        }
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                Refresh(supervisor.Client);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Reads the plan if the engine rewrote it, and moves rtudpd if its place changed.</summary>
    public void Refresh(EngineConnection? engine)
    {
        if (engine is null)
        {
            return;
        }
        string path = Path.Combine(engine.Directory, CpuPlanReport.FileName);
        CpuPlanReport plan;
        try
        {
            DateTime written = File.GetLastWriteTimeUtc(path);
            if (written == _planWritten)
            {
                return;
            }
            plan = CpuPlanReport.FromJson(File.ReadAllText(path));
            _planWritten = written;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            return; // not written yet, or the engine is going: the next look sees it
        }
        IReadOnlyList<int> target = Choose(plan, _started);
        if (target.SequenceEqual(Current))
        {
            return;
        }
        try
        {
            ProcessAffinity.ConfineAllThreads(target);
            _current = target;
            string cpus = HostCpus.Format(target), avoided = HostCpus.Format(_started.Except(target));
            Log.Moved(logger, cpus, avoided);
        }
        catch (NativeCallException e)
        {
            string cpus = HostCpus.Format(target);
            Log.MoveFailed(logger, cpus, e.Message);
        }
    }

    /// <summary>rtudpd's CPUs: those it started with, less those unpinned SCHED_FIFO workers may run on, unless that leaves none.</summary>
    public static IReadOnlyList<int> Choose(CpuPlanReport plan, IReadOnlyList<int> started)
    {
        ArgumentNullException.ThrowIfNull(plan);
        IEnumerable<int> busy = plan.Workers.Where(w => !w.Pinned && w.Scheduling.StartsWith("SCHED_FIFO", StringComparison.Ordinal)).SelectMany(w => w.Cpus);
        int[] away = [.. started.Except(busy).Order()];
        return away.Length > 0 ? away : [.. started.Order()];
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 730, Level = LogLevel.Information, Message = "rtudpd's threads moved to CPUs {Cpus}: unpinned SCHED_FIFO workers run on {Avoided}, where they would starve the intake")]
        public static partial void Moved(ILogger logger, string cpus, string avoided);

        [LoggerMessage(EventId = 731, Level = LogLevel.Warning, Message = "Moving rtudpd's threads to CPUs {Cpus} failed: {Error}")]
        public static partial void MoveFailed(ILogger logger, string cpus, string error);
    }
}
