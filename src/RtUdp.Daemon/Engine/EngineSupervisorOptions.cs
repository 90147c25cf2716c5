namespace RtUdp.Daemon.Engine;

/// <summary>Configuration section "Engine".</summary>
public sealed class EngineSupervisorOptions
{
    /// <summary>Where the engine keeps its control and channel files; empty: $RUNTIME_DIRECTORY/engine or /dev/shm/rtudp-USER.</summary>
    public string Directory { get; set; } = "";

    /// <summary>Path of rtudp-engine (apphost or dll); empty: next to rtudpd.</summary>
    public string Path { get; set; } = "";

    /// <summary>
    /// CPUs for rtudpd and the engine's own threads (its conductor), as a list like "0" or "0-1,4"; empty: not set,
    /// both run wherever they were started. Unpinned real-time workers keep off them while other CPUs are left,
    /// so the gRPC intake never shares a CPU with a busy worker. docs/cpu-plan.md shows the systemd way too.
    /// </summary>
    public string HousekeepingCpus { get; set; } = "";

    /// <summary>The housekeeping CPUs parsed (set by validation).</summary>
    internal IReadOnlyList<int> HousekeepingCpuList { get; set; } = [];

    /// <summary>The CPUs rtudpd could use before it confined itself to the housekeeping CPUs: the engine plans its workers over them.</summary>
    internal IReadOnlyList<int> EngineCpus { get; set; } = [];

    /// <summary>mlockall in the engine (needs CAP_IPC_LOCK or LimitMEMLOCK=infinity; refused: the engine runs and reports it).</summary>
    public bool LockMemory { get; set; } = true;

    /// <summary>At SIGTERM, how long queued packets due within it may still go out before the engine stops (the rest are counted dropped).</summary>
    public TimeSpan DrainWindow { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Before READY=1, warm the API and the engine with a throwaway loopback flow over the unix socket (<see cref="Hosting.StartupExercise"/>).</summary>
    public bool WarmUp { get; set; } = true;

    /// <summary>How long a starting engine may take to publish its control file.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest wait between restarts of an engine that keeps dying (the first wait is 250 ms, doubling).</summary>
    public TimeSpan MaxRestartDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a stopping engine may take to stop its channels before it is killed.</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long the conductor or a running channel's worker may go without a heartbeat before the engine counts as
    /// stalled: health NOT_SERVING, rtudp_engine_stalled 1. Zero: a quarter of systemd's WatchdogSec, or 2 s without it.
    /// </summary>
    public TimeSpan StallTimeout { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// How long a stall may last before rtudpd kills the engine and starts a new one (longer than StallTimeout).
    /// Zero: half of systemd's WatchdogSec, or 5 s without it (and at least twice StallTimeout).
    /// </summary>
    public TimeSpan StallRestartTimeout { get; set; } = TimeSpan.Zero;
}
