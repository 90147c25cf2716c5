namespace RtUdp.Core.Channels;

/// <summary>
/// Per-channel 64-bit counters in shared memory. Values are slot indexes; each writer's group starts
/// on a 128-byte line of its own (16 slots) so writers in different threads never share a line.
/// </summary>
/// <remarks>
/// Accounting invariants (exact once the channel is quiescent, approximately at any moment):
/// <c>Enqueued = Sent + DroppedLate + DroppedError + DroppedStopped + Pending</c>, where
/// <c>Pending = Enqueued - Scanned + Scheduled</c> is what the ring and the schedule hold;
/// <c>Received = Drained + RxDroppedOverflow + RxDroppedTruncated + Buffered</c>, where
/// <c>Buffered = RxWritten - Drained</c>.
/// </remarks>
public enum ChannelCounter
{
    // Written by producers (daemon threads, atomically).
    Enqueued = 0,
    RejectedFull = 1,

    // Written by the send worker only.
    Scanned = 16,
    Scheduled = 17,
    Sent = 18,
    Late = 19,
    DroppedLate = 20,
    DroppedError = 21,
    DroppedStopped = 22,

    /// <summary>sendmmsg calls made (failed ones included).</summary>
    SendCalls = 23,

    /// <summary>Packets the kernel accepted from sendmmsg calls: with <see cref="SendCalls"/>, the mean batch size.</summary>
    SendBatchPackets = 24,
    TxReportsLost = 25,
    SendWaits = 26,

    /// <summary>Seconds in which a SCHED_FIFO hybrid worker used up its spin budget and fell back to sleeping to the packet's time.</summary>
    SpinBudgetExhausted = 27,

    // Written by the receive worker only.
    Received = 32,
    RxWritten = 33,
    RxDroppedOverflow = 34,
    RxDroppedTruncated = 35,
    RxCalls = 36,
    RxMissingTimestamp = 37,

    // Written by the drainer (daemon).
    Drained = 48,
}

/// <summary>Per-worker health in shared memory, written by each worker, read by the daemon's watchdog.</summary>
public enum WorkerHealthField
{
    /// <summary>Incremented on every pass of the worker's loop (at least every 100 ms, even idle).</summary>
    Heartbeat = 0,

    /// <summary>CLOCK_MONOTONIC of the last heartbeat.</summary>
    HeartbeatTimeNs = 1,

    /// <summary><see cref="WorkerState"/>.</summary>
    State = 2,

    /// <summary><see cref="Engine.RealtimeMode"/> flags in effect.</summary>
    RealtimeMode = 3,

    /// <summary>Linux thread id.</summary>
    ThreadId = 4,

    /// <summary>CPU the worker last ran on.</summary>
    Cpu = 5,

    /// <summary>errno of the last failed real-time setup step (0 if none).</summary>
    SetupErrno = 6,
}

public enum WorkerState
{
    NotStarted = 0,
    Running = 1,
    Stopped = 2,
    Failed = 3,
}
