using RtUdp.Core.Rings;

namespace RtUdp.Core.Control;

/// <summary>
/// The engine's control file (engine.ctl): engine health the daemon reads without a round trip,
/// and the command and response rings.
/// <code>
///   0      magic "RTENGN01", version, state, pid
///   64     conductor heartbeat and its CLOCK_MONOTONIC time
///   128    GC collections (gen 0, 1, 2) and bytes allocated since start: flat in steady state
///   192    memory lock mode
///   4096   command ring   (producers: daemon threads; consumer: the engine's conductor)
///   ...    response ring  (producer: the conductor; consumer: the daemon)
/// </code>
/// </summary>
public static class EngineControlLayout
{
    public const ulong Magic = 0x3130_4E47_4E45_5452; // "RTENGN01"
    public const int Version = 1;

    public const int MagicOffset = 0;
    public const int VersionOffset = 8;
    public const int StateOffset = 12;
    public const int PidOffset = 16;
    public const int StartTimeOffset = 24;
    public const int HeartbeatOffset = 64;
    public const int HeartbeatTimeOffset = 72;
    public const int ChannelCountOffset = 80;
    public const int GcCountOffset = 128; // three longs: gen 0, 1, 2
    public const int AllocatedBytesOffset = 152;
    public const int MemoryLockOffset = 192;

    public const int RingCapacity = 1 << 20;
    public const int CommandRingOffset = 4096;
    public static readonly int ResponseRingOffset = (int)PageAlign(CommandRingOffset + RecordRing.TotalLength(RingCapacity));
    public static readonly long TotalLength = PageAlign(ResponseRingOffset + RecordRing.TotalLength(RingCapacity));

    public const string FileName = "engine.ctl";

    private static long PageAlign(long offset) => (offset + 4095) & ~4095L;
}

/// <summary>Lifecycle of the engine process as published in its control file.</summary>
public enum EngineState
{
    None = 0,
    Starting = 1,
    Running = 2,
    Stopping = 3,
    Stopped = 4,
}
