namespace RtUdp.Daemon.Engine;

/// <summary>Configuration section "Engine".</summary>
public sealed class EngineSupervisorOptions
{
    /// <summary>Where the engine keeps its control and channel files; empty: $RUNTIME_DIRECTORY/engine or /dev/shm/rtudp-USER.</summary>
    public string Directory { get; set; } = "";

    /// <summary>Path of rtudp-engine; empty: next to rtudpd.</summary>
    public string Path { get; set; } = "";

    /// <summary>mlockall in the engine (needs CAP_IPC_LOCK or LimitMEMLOCK=infinity).</summary>
    public bool LockMemory { get; set; } = true;

    /// <summary>Longest wait between restarts of an engine that keeps dying.</summary>
    public TimeSpan MaxRestartDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a stopping engine may take to stop its channels before it is killed.</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
