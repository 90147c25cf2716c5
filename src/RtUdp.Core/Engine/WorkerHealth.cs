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

    public void Set(WorkerHealthField field, long value) => Volatile.Write(ref region.Health(sendWorker, field), value);

    public long Get(WorkerHealthField field) => Volatile.Read(ref region.Health(sendWorker, field));

    /// <summary>
    /// Real-time set-up of the calling worker thread, published in its health words. Throws if the
    /// channel requires real-time scheduling and a measure was refused; otherwise returns the problem
    /// (null if none) for the engine to log once.
    /// </summary>
    public string? SetUpRealtime(int cpu, int priority, bool memoryLocked, ChannelFlags flags)
    {
        (RealtimeMode mode, int error, string? problem) = RealtimeThread.Apply(cpu, priority, memoryLocked);
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
