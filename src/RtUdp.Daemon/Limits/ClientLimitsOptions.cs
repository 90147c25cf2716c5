namespace RtUdp.Daemon.Limits;

/// <summary>
/// Configuration section "Limits": what one client may put into the engine, so that one client cannot
/// starve the others (a client is a peer: see <see cref="ClientIdentity"/>). 0 switches a limit off.
/// </summary>
public sealed class ClientLimitsOptions
{
    /// <summary>Packets a client may enqueue per second, over all its channels (a token bucket refilled at this rate).</summary>
    public int PerClientPacketsPerSecond { get; set; }

    /// <summary>Largest burst above the rate (the bucket's size); 0: one second's worth.</summary>
    public int PerClientBurst { get; set; }

    /// <summary>Packets of a client that may wait in the engine for a due time still ahead.</summary>
    public int PerClientQueuedPackets { get; set; }

    /// <summary>Same-host (shared-memory) attachments one user (uid) may hold at once (docs/shm-clients.md); 0: no per-user limit.</summary>
    public int PerClientShmAttachments { get; set; } = 8;

    /// <summary>Same-host attachments the daemon serves at once, over all users (each costs the engine's intake agent a ring to read).</summary>
    public const int MaxShmAttachments = 60;

    public bool Enabled => PerClientPacketsPerSecond > 0 || PerClientQueuedPackets > 0;

    /// <summary>The bucket size in effect.</summary>
    public int EffectiveBurst => PerClientBurst > 0 ? PerClientBurst : PerClientPacketsPerSecond;

    /// <summary>Problems, each naming its key.</summary>
    public IEnumerable<string> Validate()
    {
        if (PerClientPacketsPerSecond < 0)
        {
            yield return $"Limits:PerClientPacketsPerSecond: {PerClientPacketsPerSecond} must be 0 (no limit) or more";
        }
        if (PerClientBurst < 0)
        {
            yield return $"Limits:PerClientBurst: {PerClientBurst} must be 0 (one second's worth) or more";
        }
        if (PerClientBurst > 0 && PerClientPacketsPerSecond == 0)
        {
            yield return "Limits:PerClientBurst: needs Limits:PerClientPacketsPerSecond";
        }
        if (PerClientShmAttachments < 0)
        {
            yield return $"Limits:PerClientShmAttachments: {PerClientShmAttachments} must be 0 (no per-user limit) or more";
        }
        if (PerClientQueuedPackets < 0)
        {
            yield return $"Limits:PerClientQueuedPackets: {PerClientQueuedPackets} must be 0 (no limit) or more";
        }
    }
}
