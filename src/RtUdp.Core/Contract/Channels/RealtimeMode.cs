namespace RtUdp.Core.Contract.Channels;

/// <summary>The real-time measures actually in effect for a worker (or the engine process).</summary>
[Flags]
public enum RealtimeMode
{
    None = 0,

    /// <summary>Pinned to the requested CPU.</summary>
    Pinned = 1,

    /// <summary>Running SCHED_FIFO at the requested priority.</summary>
    Fifo = 2,

    /// <summary>The process's memory is locked (mlockall).</summary>
    MemoryLocked = 4,

    /// <summary>Timer slack set to 1 ns (sleeps are not rounded up by 50 µs).</summary>
    TightTimerSlack = 8,

    /// <summary>Unpinned, kept by the engine's CPU plan to the CPUs no pinned worker owns.</summary>
    Confined = 16,

    /// <summary>
    /// Unpinned, and every CPU the engine may use is owned by a pinned worker: the worker runs at SCHED_OTHER
    /// (instead of the SCHED_FIFO priority asked) so that it cannot delay them.
    /// </summary>
    NoCpuLeft = 32,

    /// <summary>A requested measure could not be applied; the worker runs anyway.</summary>
    Degraded = 1 << 16,
}
