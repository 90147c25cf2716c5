namespace RtUdp.Core.Contract.Clients;

/// <summary>
/// The limits the engine applies to one attachment where it reads the client's ring (docs/shm-clients.md,
/// Limits:). A packet over a limit waits in the ring (back-pressure); 0 means no limit.
/// </summary>
/// <param name="PacketsPerSecond">Sustained rate.</param>
/// <param name="Burst">Packets that may go at once above the rate (0: one).</param>
/// <param name="QueuedPackets">This client's packets accepted into the channel and not yet due, at most.</param>
/// <param name="HorizonNs">A due time further ahead than now + this is malformed (0: the region's horizon).</param>
public readonly record struct ClientAttachLimits(long PacketsPerSecond, long Burst, long QueuedPackets, long HorizonNs)
{
    /// <summary>The most packets a client may hold queued ahead: the engine preallocates that much per client.</summary>
    public const long MaxQueuedPackets = 1 << 20;

    public static ClientAttachLimits None => default;

    /// <summary>Why these limits cannot be applied, or null.</summary>
    public string? Problem() =>
        PacketsPerSecond < 0 ? "packets per second is negative"
        : Burst < 0 ? "burst is negative"
        : QueuedPackets < 0 || QueuedPackets > MaxQueuedPackets ? $"queued packets {QueuedPackets} is not 0 to {MaxQueuedPackets}"
        : HorizonNs < 0 ? "horizon is negative"
        : null;
}

/// <summary>What a detach did with the client's rings.</summary>
/// <param name="Drained">Published records the engine took at detach and passed on (drain).</param>
/// <param name="Dropped">Published records dropped (drop, or what a drain left when its time ran out).</param>
/// <param name="RxUnread">Records in the client's RX ring it never read.</param>
public readonly record struct ClientDetachCounts(long Drained, long Dropped, long RxUnread);
