using RtUdp.Core.Contract.Control;

namespace RtUdp.Core.EngineLink;

/// <summary>Engine-wide health as published in the control file.</summary>
public sealed record EngineHealth
{
    public EngineState State { get; init; }
    public int Pid { get; init; }
    public long Heartbeat { get; init; }
    public long HeartbeatTimeNs { get; init; }
    public long ChannelCount { get; init; }
    public long Gen0Collections { get; init; }
    public long Gen1Collections { get; init; }
    public long Gen2Collections { get; init; }
    public long AllocatedBytes { get; init; }
    public bool MemoryLocked { get; init; }

    public long TotalCollections => Gen0Collections + Gen1Collections + Gen2Collections;
}
