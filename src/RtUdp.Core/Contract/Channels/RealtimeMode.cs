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

    /// <summary>A requested measure could not be applied; the worker runs anyway.</summary>
    Degraded = 1 << 16,
}
