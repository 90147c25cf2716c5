using RtUdp.Core.Contract.Channels;

namespace RtUdp.Core.Engine;

/// <summary>A worker's health words in its channel's file: heartbeat, state, real-time mode.</summary>
public readonly struct WorkerHealth(ChannelRegion region, bool sendWorker)
{
    public void Beat(long nowNs)
    {
        ref long beat = ref region.Health(sendWorker, WorkerHealthField.Heartbeat);
        // Release stores of single-writer words: the watchdog reads them without locks.
        Volatile.Write(ref beat, beat + 1);
        Volatile.Write(ref region.Health(sendWorker, WorkerHealthField.HeartbeatTimeNs), nowNs);
    }

    /// <summary>
    /// The engine's CPU plan changed: an unpinned worker that is running is moved to the CPUs now left to
    /// unpinned workers (and to SCHED_OTHER when none is, back to its priority when one is again). The
    /// conductor does it by thread id; the worker wrote its mode word only at set-up, so the conductor is now
    /// its one writer. Returns what failed, if anything.
    /// </summary>
    public string? Replace(int priority, bool memoryLocked, Cpus.UnpinnedPlacement unpinned)
    {
        int tid = (int)Get(WorkerHealthField.ThreadId);
        if (tid <= 0 || (WorkerState)Get(WorkerHealthField.State) != WorkerState.Running)
        {
            return null;
        }
        (RealtimeMode placed, int error, string? failed) = RealtimeThread.Place(tid, priority, unpinned);
        const RealtimeMode Planned = RealtimeMode.Confined | RealtimeMode.Fifo | RealtimeMode.NoCpuLeft | RealtimeMode.Degraded;
        RealtimeMode mode = ((RealtimeMode)Get(WorkerHealthField.RealtimeMode) & ~Planned) | placed;
        if (!memoryLocked || error != 0 || (placed & RealtimeMode.NoCpuLeft) != 0 || (priority > 0 && (placed & (RealtimeMode.Fifo | RealtimeMode.NoCpuLeft)) == 0))
        {
            mode |= RealtimeMode.Degraded;
        }
        Set(WorkerHealthField.RealtimeMode, (long)mode);
        return error == 0 ? null : $"{failed}: {Native.Errno.Describe(error)}";
    }

    public void Set(WorkerHealthField field, long value) => Volatile.Write(ref region.Health(sendWorker, field), value);

    public long Get(WorkerHealthField field) => Volatile.Read(ref region.Health(sendWorker, field));

    /// <summary>
    /// Real-time set-up of the calling worker thread, published in its health words. Throws if the
    /// channel requires real-time scheduling and a measure was refused; otherwise returns the problem
    /// (null if none) for the engine to log once.
    /// </summary>
    public string? SetUpRealtime(int cpu, int priority, bool memoryLocked, ChannelFlags flags, Cpus.UnpinnedPlacement unpinned)
    {
        (RealtimeMode mode, int error, string? problem) = RealtimeThread.Apply(cpu, priority, memoryLocked, unpinned);
        Set(WorkerHealthField.RealtimeMode, (long)mode);
        Set(WorkerHealthField.SetupErrno, error);
        Set(WorkerHealthField.ThreadId, Native.Libc.gettid());
        Set(WorkerHealthField.Cpu, Tmds.Linux.LibC.sched_getcpu());
        if (problem is not null && flags.HasFlag(ChannelFlags.RequireRealtime))
        {
            throw new InvalidOperationException($"Channel requires real-time scheduling, but {problem}.");
        }
        return problem;
    }
}
