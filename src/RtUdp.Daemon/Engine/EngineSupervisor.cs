using System.Diagnostics;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Engine;
using RtUdp.Core.Launching;
using RtUdp.Daemon.Hosting;

namespace RtUdp.Daemon.Engine;

/// <summary>
/// Starts the engine process, has the catalog's channels armed in it, watches it, and restarts it
/// with a growing back-off when it dies, restoring the channels and counting what the dead engine
/// held (<see cref="EngineLoss"/>). At shutdown <see cref="EngineShutdown"/> drains and stops it.
/// The daemon's own threads allocate freely; the engine's never see a GC of this process.
/// </summary>
public sealed partial class EngineSupervisor : BackgroundService
{
    private readonly EngineSupervisorOptions _options;
    private readonly PrivilegeSeparation _separation;
    private readonly IChannelCatalog _catalog;
    private readonly SystemdNotifier _notifier;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ListenersBound _listeners;
    private readonly ILogger<EngineSupervisor> _logger;
    private readonly ChannelArming _arming;
    private readonly EngineLoss _loss;
    private readonly StallMonitor _stall;
    private readonly EngineShutdown _shutdown;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile EngineProcess? _engine;

    internal EngineSupervisor(EngineSupervisorOptions options, PrivilegeSeparation separation, IChannelCatalog catalog, SystemdNotifier notifier, IntakeGate gate, IHostApplicationLifetime lifetime, ListenersBound listeners, RetiredHandles retired, ILogger<EngineSupervisor> logger)
    {
        _options = options;
        _separation = separation;
        _catalog = catalog;
        _notifier = notifier;
        _lifetime = lifetime;
        _listeners = listeners;
        _logger = logger;
        // The parts log under the supervisor's category, as they did when they were one class.
        _arming = new ChannelArming(catalog, logger);
        _loss = new EngineLoss(catalog, retired, logger);
        _stall = new StallMonitor(catalog, StallBounds.Resolve(options, notifier.WatchdogTimeout), notifier, logger);
        _shutdown = new EngineShutdown(options, catalog, gate, notifier, retired, logger);
        Directory = string.IsNullOrEmpty(options.Directory) ? EngineOptions.DefaultDirectory() : options.Directory;
    }

    /// <summary>The running engine's client, or null while it is down.</summary>
    public EngineConnection? Client => _engine?.Client;

    /// <summary>The running engine's process id, or 0 while it is down.</summary>
    public int EnginePid => _engine?.Pid ?? 0;

    /// <summary>Whether rtudpd holds none of the engine's capabilities, and how.</summary>
    internal PrivilegeSeparation PrivilegeSeparation => _separation;

    /// <summary>The engine's files.</summary>
    public string Directory { get; }

    /// <summary>Times the engine died and was started again.</summary>
    public int Restarts { get; private set; }

    /// <inheritdoc cref="EngineLoss.LostTxPackets"/>
    public long LostTxPackets => _loss.LostTxPackets;

    /// <inheritdoc cref="EngineLoss.LostRxPackets"/>
    public long LostRxPackets => _loss.LostRxPackets;

    /// <summary>Completes once the first engine is up and the configured channels are armed.</summary>
    public Task Ready => _ready.Task;

    /// <summary>Run once, after the first engine is armed and the listeners are bound, before READY=1 (the start-up warm-up).</summary>
    internal Func<CancellationToken, Task>? BeforeReady { get; set; }

    /// <summary>Set when the start failed for good (a configured channel could not be created): the daemon exits non-zero.</summary>
    public string? FatalError { get; private set; }

    /// <summary>Raised with the new client after each engine start, and with null when it dies or stops.</summary>
    public event Action<EngineConnection?>? EngineChanged;

    /// <summary>The running engine's stall past <see cref="StallBounds.Health"/>, or null: health, metrics and the API read it.</summary>
    public EngineStall? Stall => _stall.Current;

    /// <summary>When a stall makes health NOT_SERVING, when it restarts the engine, and when the watchdog gives up.</summary>
    public StallBounds StallBounds => _stall.Bounds;

    /// <summary>Of <see cref="Restarts"/>, the engines killed because they stalled past the restart bound.</summary>
    public int StallRestarts => _stall.StallRestarts;

    /// <inheritdoc cref="StallMonitor.WatchdogVerdict"/>
    public string? WatchdogVerdict() => _stall.WatchdogVerdict(EnginePid);

    /// <summary>What to do after one engine's life.</summary>
    private enum Next
    {
        /// <summary>Start another engine (the back-off has been waited).</summary>
        Restart,

        /// <summary>The daemon stopped while no engine was running.</summary>
        StopIdle,

        /// <summary>Done: the engine was stopped, or the daemon exits.</summary>
        Exit,
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        System.IO.Directory.CreateDirectory(Directory);
        LogPrivilegeSeparation();
        string bounds = _stall.Bounds.ToString();
        Log.StallBounds(_logger, bounds);
        if (_stall.Bounds.WatchdogConflict(_notifier.WatchdogTimeout) is { } conflict)
        {
            Log.StallBoundsConflict(_logger, conflict);
        }
        var backoff = new RestartBackoff(_options.MaxRestartDelay);
        Next next = Next.Restart;
        while (next == Next.Restart && !stoppingToken.IsCancellationRequested)
        {
            next = await RunEngineAsync(backoff, stoppingToken);
        }
        if (next != Next.Exit)
        {
            _shutdown.StopIdle();
        }
    }

    /// <summary>One engine's life: start it, arm the channels, serve until it dies or the daemon stops.</summary>
    private async Task<Next> RunEngineAsync(RestartBackoff backoff, CancellationToken stoppingToken)
    {
        bool first = !_ready.Task.IsCompleted;
        _notifier.Status(first ? "starting engine" : $"restarting engine (restart {Restarts})");
        StaleChannelFiles.Remove(Directory);
        EngineProcess engine;
        try
        {
            engine = await Task.Run(StartEngine, stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return Next.StopIdle;
        }
        catch (LauncherGoneException e)
        {
            // The capabilities went with the launcher, and rtudpd gave its own up: only a fresh
            // start of the service gets them back. Exit non-zero so that Restart= does that.
            Log.LauncherGone(_logger, e.Message);
            _notifier.Status($"engine launcher gone: {e.Message}; exiting for a restart");
            ExitNonZero(e.Message);
            return Next.Exit;
        }
        catch (Exception e)
        {
            Log.EngineStartFailed(_logger, e, backoff.Delay.TotalSeconds);
            _notifier.Status($"engine failed to start: {e.Message}; retrying in {backoff.Delay.TotalSeconds:0.##} s");
            return await backoff.WaitAsync(stoppingToken) ? Next.Restart : Next.StopIdle;
        }

        Log.EngineStarted(_logger, engine.Pid, Directory);
        var started = Stopwatch.StartNew();
        ChannelArming.Result armed = await Task.Run(() => _arming.Arm(engine, first), CancellationToken.None);
        if (armed.Fatal is not null)
        {
            await Task.Run(engine.Dispose, CancellationToken.None);
            ExitNonZero(armed.Fatal);
            return Next.Exit;
        }
        if (!first)
        {
            Log.ChannelsRestored(_logger, engine.Pid, armed.Restored, armed.Failed);
        }
        Attach(engine);
        string status = RunningStatus(engine);
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        Task stallWatch = _stall.WatchAsync(engine, watching.Token);
        try
        {
            if (first)
            {
                // READY=1 only once the API listens too.
                await _listeners.Task.WaitAsync(stoppingToken);
                if (BeforeReady is { } warmUp)
                {
                    await warmUp(stoppingToken);
                }
                _notifier.Ready(status);
                _ready.TrySetResult();
            }
            else
            {
                _notifier.Status(status);
            }
            await engine.WaitForExitAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            // No stall restart while the engine drains.
            await watching.CancelAsync();
            await stallWatch;
            await _shutdown.DrainAndStopAsync(engine, Detach);
            return Next.Exit;
        }
        await watching.CancelAsync();
        await stallWatch;

        OnDied(engine, started.Elapsed, backoff);
        return await backoff.WaitAsync(stoppingToken) ? Next.Restart : Next.StopIdle;
    }

    private EngineProcess StartEngine() =>
        EngineProcess.Start(Directory, line => Log.EngineOutput(_logger, line), NullIfEmpty(_options.Path), _options.LockMemory, _options.StartTimeout, engineArguments: CpuArguments(), launcher: _separation.Launcher);

    /// <summary>
    /// With housekeeping CPUs, the engine is started from a confined rtudpd thread and would inherit that
    /// affinity: it is told the CPUs to plan its workers over, and where its own threads go.
    /// </summary>
    private List<string> CpuArguments() => _options.HousekeepingCpuList.Count == 0 ? [] :
    [
        "--cpus", Core.Capabilities.HostCpus.Format(_options.EngineCpus),
        "--housekeeping-cpus", Core.Capabilities.HostCpus.Format(_options.HousekeepingCpuList),
    ];

    /// <summary>The engine serves: API callers and the watchdog see it from now on.</summary>
    private void Attach(EngineProcess engine)
    {
        _engine = engine;
        EngineChanged?.Invoke(engine.Client);
    }

    private void Detach()
    {
        _engine = null;
        _stall.EngineDown();
        EngineChanged?.Invoke(null);
    }

    /// <summary>The engine died under us: count what it took, and say when the next one starts.</summary>
    private void OnDied(EngineProcess engine, TimeSpan ran, RestartBackoff backoff)
    {
        Detach();
        Restarts++;
        backoff.EngineRan(ran);
        Log.EngineDied(_logger, engine.Pid, engine.ExitCode, backoff.Delay.TotalSeconds);
        _loss.Account(engine.Pid);
        engine.Client.Dispose();
        _notifier.Status($"engine {engine.Pid} died (exit code {engine.ExitCode}); restarting in {backoff.Delay.TotalSeconds:0.##} s, lost so far: {LostTxPackets} queued, {LostRxPackets} received");
    }

    /// <summary>The start failed for good: the daemon stops and exits non-zero.</summary>
    private void ExitNonZero(string reason)
    {
        FatalError = reason;
        Environment.ExitCode = 1;
        _lifetime.StopApplication();
    }

    private string RunningStatus(EngineProcess engine)
    {
        IReadOnlyList<CatalogChannel> channels = _catalog.Snapshot();
        int attached = channels.Count(c => c.Handle is not null);
        int running = channels.Count(c => c.Handle?.State == ChannelState.Running);
        return $"engine {engine.Pid} running, {attached} channels ({running} running)"
            + (Restarts > 0 ? $", {Restarts} restarts, lost {LostTxPackets} queued and {LostRxPackets} received packets" : "");
    }

    private void LogPrivilegeSeparation()
    {
        if (_separation.Separated)
        {
            Log.PrivilegesSeparated(_logger, _separation.Description);
        }
        else
        {
            Log.PrivilegesNotSeparated(_logger, _separation.Description);
        }
    }

    private static string? NullIfEmpty(string value) => string.IsNullOrEmpty(value) ? null : value;

    private static partial class Log
    {
        [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Engine {Pid} running, files in {Directory}")]
        public static partial void EngineStarted(ILogger logger, int pid, string directory);

        [LoggerMessage(EventId = 101, Level = LogLevel.Error, Message = "Engine failed to start; retrying in {DelaySeconds} s")]
        public static partial void EngineStartFailed(ILogger logger, Exception exception, double delaySeconds);

        [LoggerMessage(EventId = 102, Level = LogLevel.Error, Message = "Engine {Pid} exited unexpectedly with code {ExitCode}; restarting in {DelaySeconds} s")]
        public static partial void EngineDied(ILogger logger, int pid, int exitCode, double delaySeconds);

        [LoggerMessage(EventId = 108, Level = LogLevel.Warning, Message = "Engine {Pid} restarted: {Restored} channels restored, {Failed} failed")]
        public static partial void ChannelsRestored(ILogger logger, int pid, int restored, int failed);

        [LoggerMessage(EventId = 110, Level = LogLevel.Information, Message = "{EngineLine}")]
        public static partial void EngineOutput(ILogger logger, string engineLine);

        [LoggerMessage(EventId = 116, Level = LogLevel.Information, Message = "Privilege separation in effect: {Description}")]
        public static partial void PrivilegesSeparated(ILogger logger, string description);

        [LoggerMessage(EventId = 117, Level = LogLevel.Warning, Message = "Privilege separation NOT in effect: {Description}")]
        public static partial void PrivilegesNotSeparated(ILogger logger, string description);

        [LoggerMessage(EventId = 123, Level = LogLevel.Information, Message = "Stall bounds: {Bounds}")]
        public static partial void StallBounds(ILogger logger, string bounds);

        [LoggerMessage(EventId = 124, Level = LogLevel.Warning, Message = "{Conflict}")]
        public static partial void StallBoundsConflict(ILogger logger, string conflict);

        [LoggerMessage(EventId = 118, Level = LogLevel.Critical, Message = "The engine launcher is gone, and with it the engine's capabilities: {Reason}; rtudpd exits so that the service manager restarts it")]
        public static partial void LauncherGone(ILogger logger, string reason);
    }
}
