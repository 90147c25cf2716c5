using System.Diagnostics;
using RtUdp.Core.EngineLink;
using RtUdp.Daemon.Hosting;

namespace RtUdp.Daemon.Engine;

/// <summary>
/// Climbs <see cref="StallBounds"/>' ladder for the running engine: looks at its heartbeats every
/// <see cref="StallBounds.SampleInterval"/>, publishes the stall (health, metrics and STATUS= read it), and
/// kills the engine once a stall passes the restart bound, so that the supervisor restarts it as after a
/// crash. It also keeps how long the engine has been unhealed (stalled, or down), which is the watchdog's question.
/// </summary>
internal sealed partial class StallMonitor(IChannelCatalog catalog, StallBounds bounds, SystemdNotifier notifier, ILogger logger)
{
    private readonly StallDetector _detector = new(catalog, bounds.Health);
    private volatile EngineStall? _current;
    private long _unhealedSince; // Stopwatch timestamp; 0 while the engine runs and advances
    private int _stallRestarts;

    public StallBounds Bounds => bounds;

    /// <summary>The running engine's stall past the health bound, or null.</summary>
    public EngineStall? Current => _current;

    /// <summary>Engines killed because they stalled past the restart bound.</summary>
    public int StallRestarts => Volatile.Read(ref _stallRestarts);

    /// <summary>The engine went down: unhealed from now, unless it already was (a stall it was killed for).</summary>
    public void EngineDown()
    {
        _current = null;
        Interlocked.CompareExchange(ref _unhealedSince, Stopwatch.GetTimestamp(), 0);
    }

    /// <summary>Why WATCHDOG=1 should be withheld now (the engine stayed unhealed past the watchdog bound), or null.</summary>
    public string? WatchdogVerdict(int enginePid)
    {
        long since = Interlocked.Read(ref _unhealedSince);
        if (bounds.Watchdog is not { } limit || since == 0 || Stopwatch.GetElapsedTime(since) <= limit)
        {
            return null;
        }
        string what = _current is { } stall ? stall.Describe() : enginePid == 0 ? "engine down" : $"engine {enginePid} not yet advancing";
        return $"{what}; unhealed for {Stopwatch.GetElapsedTime(since).TotalSeconds:0.0} s, past {limit.TotalSeconds:0.###} s";
    }

    /// <summary>Watches <paramref name="engine"/> until it exits or <paramref name="cancellationToken"/> fires.</summary>
    public async Task WatchAsync(EngineProcess engine, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(bounds.SampleInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken) && !engine.HasExited)
            {
                EngineStall? stall = _detector.Inspect(engine);
                Publish(engine, stall);
                if (stall is not null && stall.Longest > bounds.Restart)
                {
                    Interlocked.Increment(ref _stallRestarts);
                    string described = stall.Describe();
                    Log.KillingStalled(logger, described, bounds.Restart.TotalSeconds);
                    notifier.Status($"{described}; killing it for a restart");
                    await Task.Run(engine.Kill, CancellationToken.None);
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The engine is being stopped.
        }
    }

    private void Publish(EngineProcess engine, EngineStall? stall)
    {
        EngineStall? previous = _current;
        _current = stall;
        if (stall is null)
        {
            Interlocked.Exchange(ref _unhealedSince, 0);
            if (previous is not null)
            {
                Log.Advancing(logger, engine.Pid);
                notifier.Status($"engine {engine.Pid} advancing again");
            }
            return;
        }
        Interlocked.CompareExchange(ref _unhealedSince, Stopwatch.GetTimestamp() - (long)(stall.Longest.TotalSeconds * Stopwatch.Frequency), 0);
        if (previous is null || !SameParts(previous, stall))
        {
            string described = stall.Describe();
            Log.Stalled(logger, described, bounds.Restart.TotalSeconds);
            notifier.Status($"{described}; not serving, engine restart after {bounds.Restart.TotalSeconds:0.###} s");
        }
    }

    private static bool SameParts(EngineStall a, EngineStall b) =>
        a.Pid == b.Pid && a.Parts.Select(p => p.Name).Order().SequenceEqual(b.Parts.Select(p => p.Name).Order());

    private static partial class Log
    {
        [LoggerMessage(EventId = 120, Level = LogLevel.Error, Message = "{Stall}; health is NOT_SERVING, the engine is restarted after {RestartSeconds} s")]
        public static partial void Stalled(ILogger logger, string stall, double restartSeconds);

        [LoggerMessage(EventId = 121, Level = LogLevel.Information, Message = "Engine {Pid} advancing again; health SERVING")]
        public static partial void Advancing(ILogger logger, int pid);

        [LoggerMessage(EventId = 122, Level = LogLevel.Critical, Message = "{Stall}, past the restart bound of {RestartSeconds} s: killing the engine for a restart")]
        public static partial void KillingStalled(ILogger logger, string stall, double restartSeconds);
    }
}
