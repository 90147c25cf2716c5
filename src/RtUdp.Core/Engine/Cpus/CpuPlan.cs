namespace RtUdp.Core.Engine.Cpus;

/// <summary>Which worker of a channel.</summary>
public enum WorkerRole
{
    Send,
    Receive,
}

/// <summary>A pinned worker's hold on its CPU.</summary>
/// <param name="Shares">The channel asked to share (CHANNEL_FLAG_SHARE_CPU).</param>
public sealed record CpuClaim(uint ChannelId, string Channel, WorkerRole Role, int Cpu, bool Shares)
{
    public string Worker => Role == WorkerRole.Send ? "send worker" : "receive worker";
}

/// <summary>Where unpinned workers run, and whether they may run SCHED_FIFO there.</summary>
/// <param name="Cpus">Their affinity; empty: leave it as inherited (no plan).</param>
/// <param name="RealtimeAllowed">False when every CPU is owned by a pinned worker: unpinned ones then run SCHED_OTHER.</param>
public sealed record UnpinnedPlacement(IReadOnlyList<int> Cpus, bool RealtimeAllowed)
{
    /// <summary>No plan: the affinity the worker inherits, the priority asked.</summary>
    public static readonly UnpinnedPlacement Inherited = new([], true);
}

/// <summary>A CPU asked for is owned by another channel's pinned worker.</summary>
public sealed class CpuOwnedException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}

/// <summary>
/// Who owns which CPU among the engine's workers. A worker pinned to a CPU owns it: another channel's
/// pinned worker is refused that CPU unless it asks to share, and unpinned workers are kept off every
/// owned CPU (and off the housekeeping CPUs while others are left), so a SCHED_FIFO worker without a CPU
/// can never be placed where a pinned one sleeps until its next packet. Used by the conductor thread only.
/// </summary>
public sealed class CpuPlan
{
    private readonly List<CpuClaim> _claims = [];

    /// <param name="allowed">The CPUs the engine may use (its affinity when it started).</param>
    /// <param name="housekeeping">The CPUs configured for rtudpd and the engine's conductor (may be empty).</param>
    public CpuPlan(IReadOnlyList<int> allowed, IReadOnlyList<int> housekeeping)
    {
        Allowed = [.. allowed.Distinct().Order()];
        Housekeeping = [.. housekeeping.Distinct().Order()];
    }

    public IReadOnlyList<int> Allowed { get; }

    public IReadOnlyList<int> Housekeeping { get; }

    public IReadOnlyList<CpuClaim> Claims => _claims;

    /// <summary>CPUs owned by at least one pinned worker.</summary>
    public IReadOnlyList<int> Owned => [.. _claims.Select(c => c.Cpu).Distinct().Order()];

    /// <summary>
    /// Takes the CPUs of a new channel's pinned workers, or refuses them all. A channel's own two workers may
    /// share a CPU; another channel's only when the new one shares.
    /// </summary>
    /// <returns>Whether the channel took any CPU (the unpinned workers' place changed).</returns>
    /// <exception cref="CpuOwnedException">A CPU asked for is owned by another channel and the new one does not share.</exception>
    public bool Claim(uint channelId, string channel, int sendCpu, int receiveCpu, bool sends, bool receives, bool share)
    {
        var wanted = new List<(string Field, CpuClaim Claim)>(2);
        if (sends && sendCpu >= 0)
        {
            wanted.Add(("send_cpu", new CpuClaim(channelId, channel, WorkerRole.Send, sendCpu, share)));
        }
        if (receives && receiveCpu >= 0)
        {
            wanted.Add(("receive_cpu", new CpuClaim(channelId, channel, WorkerRole.Receive, receiveCpu, share)));
        }
        foreach ((string field, CpuClaim claim) in wanted)
        {
            if (!share && _claims.FirstOrDefault(c => c.Cpu == claim.Cpu && c.ChannelId != channelId) is { } owner)
            {
                throw new CpuOwnedException(field,
                    $"{field}: CPU {claim.Cpu} is owned by channel '{owner.Channel}' (its {owner.Worker}); a second real-time worker there would delay its packets. "
                    + "Pick another CPU, or set CHANNEL_FLAG_SHARE_CPU (rtudpctl --share-cpu) to share it.");
            }
        }
        _claims.AddRange(wanted.Select(w => w.Claim));
        return wanted.Count > 0;
    }

    /// <summary>Gives back a channel's CPUs; true if it held any.</summary>
    public bool Release(uint channelId) => _claims.RemoveAll(c => c.ChannelId == channelId) > 0;

    /// <summary>
    /// The CPUs no pinned worker owns, without the housekeeping CPUs while any other is left (rtudpd's intake
    /// then never shares a CPU with a busy unpinned worker). With every CPU owned: all of them, at SCHED_OTHER.
    /// </summary>
    public UnpinnedPlacement Unpinned
    {
        get
        {
            IReadOnlyList<int> owned = Owned;
            int[] free = [.. Allowed.Except(owned)];
            if (free.Length == 0)
            {
                return new UnpinnedPlacement(Allowed, RealtimeAllowed: false);
            }
            int[] away = [.. free.Except(Housekeeping)];
            return new UnpinnedPlacement(away.Length > 0 ? away : free, RealtimeAllowed: true);
        }
    }

    /// <summary>The plan as rtudpd reads it, with where the conductor and the running workers are.</summary>
    public CpuPlanReport Report(IReadOnlyList<int> conductor, IReadOnlyList<PlannedWorker> workers)
    {
        UnpinnedPlacement unpinned = Unpinned;
        return new CpuPlanReport
        {
            Allowed = Allowed,
            Housekeeping = Housekeeping,
            Conductor = conductor,
            Owned = [.. Owned.Select(cpu => new OwnedCpu(cpu, [.. OwnersOf(cpu).Select(c => new CpuOwner(c.Channel, c.ChannelId, c.Role == WorkerRole.Send ? "send" : "receive", c.Shares))]))],
            UnpinnedCpus = unpinned.Cpus,
            UnpinnedRealtime = unpinned.RealtimeAllowed,
            Workers = workers,
        };
    }

    /// <summary>The owners of <paramref name="cpu"/>.</summary>
    public IEnumerable<CpuClaim> OwnersOf(int cpu) => _claims.Where(c => c.Cpu == cpu);
}
