using System.Runtime.InteropServices;
using RtUdp.Core.Contract.Rings;

namespace RtUdp.Core.Contract.Control;

/// <summary>
/// The engine's control file (engine.ctl): engine health the daemon reads without a round trip,
/// and the command and response rings. <see cref="EngineControlFile"/> is the only code that reads or
/// writes it.
/// <code>
///   0      magic "RTENGN01", layout version, state, pid      (<see cref="EngineControlHeader"/>)
///   64     conductor heartbeat and its CLOCK_MONOTONIC time, channel count
///   128    GC collections (gen 0, 1, 2) and bytes allocated since start: flat in steady state
///   192    memory lock mode
///   4096   command ring   (producers: daemon threads; consumer: the engine's conductor)
///   ...    response ring  (producer: the conductor; consumer: the daemon)
/// </code>
/// </summary>
public static class EngineControlLayout
{
    public const ulong Magic = 0x3130_4E47_4E45_5452; // "RTENGN01"

    /// <summary>
    /// The layout's version: the engine writes it, rtudpd passes the one it reads to the engine
    /// (--control-version) and checks it on attach, so an engine and a daemon of different builds refuse
    /// each other. Bump it whenever the header, the rings' placement or the command and response bodies
    /// (<see cref="CommandBody"/>, <see cref="ResponseBody"/>) change.
    /// 2: the write-only start time and mlockall errno words are gone.
    /// 3: AttachClient and DetachClient (<see cref="ClientCommandBody"/>), client counts in <see cref="ResponseBody"/>.
    /// 4: DetachClient answers at once, <see cref="ResponseBody.ClientDetachPending"/> while a drain goes on.
    /// </summary>
    public const int Version = 4;

    public const int RingCapacity = 1 << 20;
    public const int CommandRingOffset = 4096;
    public static readonly int ResponseRingOffset = (int)PageAlign(CommandRingOffset + RecordRing.TotalLength(RingCapacity));
    public static readonly long TotalLength = PageAlign(ResponseRingOffset + RecordRing.TotalLength(RingCapacity));

    public const string FileName = "engine.ctl";

    /// <summary>
    /// The unix socket (SOCK_SEQPACKET, mode 0600) beside engine.ctl through which rtudpd hands the engine file
    /// descriptors: each message is a u64 token and one descriptor (SCM_RIGHTS); the command naming the token
    /// goes through the command ring.
    /// </summary>
    public const string SocketFileName = "engine.sock";

    private static long PageAlign(long offset) => (offset + 4095) & ~4095L;
}

/// <summary>
/// The first page of engine.ctl. Words written by the conductor on every pass sit on cache lines of
/// their own, away from the words written once at start.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = EngineControlLayout.CommandRingOffset)]
internal struct EngineControlHeader
{
    [FieldOffset(0)] public ulong Magic;
    [FieldOffset(8)] public int Version;
    [FieldOffset(12)] public int State;
    [FieldOffset(16)] public int Pid;

    [FieldOffset(64)] public long Heartbeat;
    [FieldOffset(72)] public long HeartbeatTimeNs;
    [FieldOffset(80)] public long ChannelCount;

    [FieldOffset(128)] public long Gen0Collections;
    [FieldOffset(136)] public long Gen1Collections;
    [FieldOffset(144)] public long Gen2Collections;
    [FieldOffset(152)] public long AllocatedBytes;

    [FieldOffset(192)] public long MemoryLocked;
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
