namespace RtUdp.Daemon.Generators;

/// <summary>
/// A generator's packet times, computed exactly on CLOCK_MONOTONIC ns from the start (never by adding
/// sleeps, so nothing drifts). <see cref="Index"/>/<see cref="DueNs"/> describe the next packet not yet
/// enqueued; <see cref="Advance"/> moves past it once it is. A rate change (<see cref="SetRate"/>)
/// applies from that packet on.
/// </summary>
internal interface IPacketSchedule
{
    /// <summary>k of the next packet (0 first).</summary>
    long Index { get; }

    /// <summary>When the next packet is due (CLOCK_MONOTONIC ns).</summary>
    long DueNs { get; }

    /// <summary>No packet is left (a replayed file's end).</summary>
    bool Exhausted { get; }

    /// <summary>The next packet's own payload (a replay), or null to use the generator's payload.</summary>
    ReadOnlyMemory<byte>? Payload { get; }

    void Advance();

    /// <summary>Changes the rate from the next packet on; false when <paramref name="rate"/> is not this schedule's kind.</summary>
    bool SetRate(ScheduleRate rate);
}

/// <summary>A new rate: a period (periodic), a burst period (bursts) or a mean rate (Poisson).</summary>
internal abstract record ScheduleRate
{
    public sealed record Period(long PeriodNs) : ScheduleRate;

    public sealed record BurstPeriod(long PeriodNs) : ScheduleRate;

    public sealed record MeanRate(double PerSecond) : ScheduleRate;
}
