namespace RtUdp.Daemon.Engine;

/// <summary>
/// The ladder a stalled engine climbs, as times since its oldest heartbeat:
/// <list type="number">
/// <item><see cref="Health"/>: health turns NOT_SERVING, <c>rtudp_engine_stalled</c> 1, STATUS= says what stalled.</item>
/// <item><see cref="Restart"/>: rtudpd kills the engine and starts a new one, as after a crash.</item>
/// <item><see cref="Watchdog"/> (under systemd's watchdog only): rtudpd withholds WATCHDOG=1, so that
/// systemd restarts the whole service, because the engine restart did not heal it.</item>
/// </list>
/// </summary>
public sealed record StallBounds(TimeSpan Health, TimeSpan Restart, TimeSpan? Watchdog)
{
    /// <summary>Health bound without systemd's watchdog: long beside the workers' 100 ms beat, short for a probe.</summary>
    public static readonly TimeSpan DefaultHealth = TimeSpan.FromSeconds(2);

    /// <summary>The least health bound derived from a short watchdog: five missed beats of a worker.</summary>
    public static readonly TimeSpan MinimumDerivedHealth = TimeSpan.FromMilliseconds(500);

    /// <summary>Restart bound without systemd's watchdog.</summary>
    public static readonly TimeSpan DefaultRestart = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Configured bounds, or bounds derived from WATCHDOG_USEC (<paramref name="watchdogTimeout"/>): a quarter
    /// of it for health and half for the restart. WATCHDOG=1 is withheld once the engine stays unhealed half a
    /// watchdog timeout past the restart bound, the time a new engine gets to start and beat: so one stall
    /// costs one engine restart, and systemd restarts the service only when that did not heal it.
    /// </summary>
    public static StallBounds Resolve(EngineSupervisorOptions options, TimeSpan? watchdogTimeout)
    {
        ArgumentNullException.ThrowIfNull(options);
        TimeSpan health = options.StallTimeout > TimeSpan.Zero ? options.StallTimeout
            : watchdogTimeout is { } w ? Max(w / 4, MinimumDerivedHealth) : DefaultHealth;
        if (options.StallTimeout <= TimeSpan.Zero && options.StallRestartTimeout > TimeSpan.Zero && health >= options.StallRestartTimeout)
        {
            // Only the restart bound was set, shorter than the derived health bound: health must come first.
            health = options.StallRestartTimeout / 2;
        }
        TimeSpan restart = options.StallRestartTimeout > TimeSpan.Zero ? options.StallRestartTimeout
            : watchdogTimeout is { } w2 ? Max(w2 / 2, health * 2) : Max(DefaultRestart, health * 2);
        return new StallBounds(health, restart, watchdogTimeout is { } w3 ? restart + w3 / 2 : null);
    }

    /// <summary>How often the heartbeats are looked at: a tenth of the health bound, at most every 250 ms.</summary>
    public TimeSpan SampleInterval => TimeSpan.FromTicks(Math.Clamp(Health.Ticks / 10, TimeSpan.TicksPerMillisecond * 10, TimeSpan.TicksPerMillisecond * 250));

    /// <summary>A problem with the bounds and systemd's watchdog, for the log at start; null if none.</summary>
    public string? WatchdogConflict(TimeSpan? watchdogTimeout) =>
        watchdogTimeout is { } w && Restart > w / 2
            ? $"Engine:StallRestartTimeout ({Restart.TotalSeconds:0.###} s) is more than half of systemd's WatchdogSec ({w.TotalSeconds:0.###} s): systemd may restart the whole service before rtudpd restarts the engine"
            : null;

    public override string ToString() =>
        $"not serving after {Health.TotalSeconds:0.###} s without a heartbeat, engine restart after {Restart.TotalSeconds:0.###} s"
        + (Watchdog is { } w ? $", WATCHDOG=1 withheld after {w.TotalSeconds:0.###} s" : "");

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
