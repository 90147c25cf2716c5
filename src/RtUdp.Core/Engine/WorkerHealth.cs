using RtUdp.Core.Channels;

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
}
