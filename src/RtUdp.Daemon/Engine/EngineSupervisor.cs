using System.Diagnostics;
using RtUdp.Core.Channels;
using RtUdp.Core.Client;
using RtUdp.Core.Control;
using RtUdp.Core.Engine;
using RtUdp.Core.Launching;
using RtUdp.Core.Memory;
using RtUdp.Daemon.Hosting;

namespace RtUdp.Daemon.Engine;

/// <summary>
/// Starts the engine process, creates and starts the catalog's channels in it, watches it, and
/// restarts it with a growing back-off when it dies, restoring the channels and counting what the
/// dead engine held. At shutdown it closes intake, lets packets due within the drain window go out,
/// then stops the engine (which counts the rest dropped) and logs the totals.
/// The daemon's own threads allocate freely; the engine's never see a GC of this process.
/// </summary>
public sealed partial class EngineSupervisor : BackgroundService
{
    private static readonly TimeSpan FirstRestartDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan StableRun = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan RetiredHandleGrace = TimeSpan.FromSeconds(30);

    private readonly EngineSupervisorOptions _options;
    private readonly PrivilegeSeparation _separation;
    private readonly IChannelCatalog _catalog;
    private readonly SystemdNotifier _notifier;
    private readonly IntakeGate _gate;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ListenersBound _listeners;
    private readonly ILogger<EngineSupervisor> _logger;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<string, long> _lastBeats = [];
    private readonly Lock _progressLock = new();
    private volatile EngineProcess? _engine;
    private long _lostTx;
    private long _lostRx;

    internal EngineSupervisor(EngineSupervisorOptions options, PrivilegeSeparation separation, IChannelCatalog catalog, SystemdNotifier notifier, IntakeGate gate, IHostApplicationLifetime lifetime, ListenersBound listeners, ILogger<EngineSupervisor> logger)
    {
        _options = options;
        _separation = separation;
        _catalog = catalog;
        _notifier = notifier;
        _gate = gate;
        _lifetime = lifetime;
        _listeners = listeners;
        _logger = logger;
        Directory = string.IsNullOrEmpty(options.Directory) ? EngineOptions.DefaultDirectory() : options.Directory;
    }

    /// <summary>The running engine's client, or null while it is down.</summary>
    public EngineClient? Client => _engine?.Client;

    /// <summary>The running engine's process id, or 0 while it is down.</summary>
    public int EnginePid => _engine?.Pid ?? 0;

    /// <summary>Whether rtudpd holds none of the engine's capabilities, and how.</summary>
    internal PrivilegeSeparation PrivilegeSeparation => _separation;

    /// <summary>The engine's files.</summary>
    public string Directory { get; }

    /// <summary>Times the engine died and was started again.</summary>
    public int Restarts { get; private set; }

    /// <summary>Queued TX packets lost with dead engines, in total.</summary>
    public long LostTxPackets => Interlocked.Read(ref _lostTx);

    /// <summary>Received packets not yet drained, lost with dead engines, in total.</summary>
    public long LostRxPackets => Interlocked.Read(ref _lostRx);

    /// <summary>Completes once the first engine is up and the configured channels are armed.</summary>
    public Task Ready => _ready.Task;

    /// <summary>Set when the start failed for good (a configured channel could not be created): the daemon exits non-zero.</summary>
    public string? FatalError { get; private set; }

    /// <summary>Raised with the new client after each engine start, and with null when it dies or stops.</summary>
    public event Action<EngineClient?>? EngineChanged;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        System.IO.Directory.CreateDirectory(Directory);
        if (_separation.Separated)
        {
            Log.PrivilegesSeparated(_logger, _separation.Description);
        }
        else
        {
            Log.PrivilegesNotSeparated(_logger, _separation.Description);
        }
        TimeSpan delay = FirstRestartDelay;
        bool first = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            _notifier.Status(first ? "starting engine" : $"restarting engine (restart {Restarts})");
            RemoveStaleChannelFiles();
            EngineProcess engine;
            try
            {
                engine = await Task.Run(() => EngineProcess.Start(Directory, line => Log.EngineOutput(_logger, line), NullIfEmpty(_options.Path), _options.LockMemory, _options.StartTimeout, launcher: _separation.Launcher), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (LauncherGoneException e)
            {
                // The capabilities went with the launcher, and rtudpd gave its own up: only a fresh
                // start of the service gets them back. Exit non-zero so that Restart= does that.
                FatalError = e.Message;
                Log.LauncherGone(_logger, e.Message);
                _notifier.Status($"engine launcher gone: {e.Message}; exiting for a restart");
                Environment.ExitCode = 1;
                _lifetime.StopApplication();
                return;
            }
            catch (Exception e)
            {
                Log.EngineStartFailed(_logger, e, delay.TotalSeconds);
                _notifier.Status($"engine failed to start: {e.Message}; retrying in {delay.TotalSeconds:0.##} s");
                if (!await Wait(delay, stoppingToken))
                {
                    break;
                }
                delay = Grow(delay);
                continue;
            }

            Log.EngineStarted(_logger, engine.Pid, Directory);
            var started = Stopwatch.StartNew();
            (int restored, int failed) = await Task.Run(() => ArmChannels(engine, first), CancellationToken.None);
            if (first && FatalError is not null)
            {
                await Task.Run(() => engine.Dispose(), CancellationToken.None);
                Environment.ExitCode = 1;
                _lifetime.StopApplication();
                return;
            }
            if (!first)
            {
                Log.ChannelsRestored(_logger, engine.Pid, restored, failed);
            }
            _engine = engine;
            lock (_progressLock)
            {
                _lastBeats.Clear();
            }
            EngineChanged?.Invoke(engine.Client);
            string status = RunningStatus(engine);
            if (first)
            {
                try
                {
                    await _listeners.Task.WaitAsync(stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    await StopAsync(engine);
                    return;
                }
                _notifier.Ready(status);
                _ready.TrySetResult();
                first = false;
            }
            else
            {
                _notifier.Status(status);
            }

            try
            {
                await engine.WaitForExitAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                await StopAsync(engine);
                return;
            }

            // The engine died under us.
            _engine = null;
            EngineChanged?.Invoke(null);
            Restarts++;
            if (started.Elapsed > StableRun)
            {
                delay = FirstRestartDelay;
            }
            Log.EngineDied(_logger, engine.Pid, engine.ExitCode, delay.TotalSeconds);
            AccountLoss(engine.Pid);
            engine.Client.Dispose();
            _notifier.Status($"engine {engine.Pid} died (exit code {engine.ExitCode}); restarting in {delay.TotalSeconds:0.##} s, lost so far: {LostTxPackets} queued, {LostRxPackets} received");
            if (!await Wait(delay, stoppingToken))
            {
                break;
            }
            delay = Grow(delay);
        }
        // Stopped while no engine was running.
        _gate.Close();
        RetireAll();
        Log.EngineStopped(_logger, true);
    }

    private string RunningStatus(EngineProcess engine)
    {
        IReadOnlyList<CatalogChannel> channels = _catalog.Snapshot();
        int attached = channels.Count(c => c.Handle is not null);
        int running = channels.Count(c => c.Handle?.State == ChannelState.Running);
        return $"engine {engine.Pid} running, {attached} channels ({running} running)"
            + (Restarts > 0 ? $", {Restarts} restarts, lost {LostTxPackets} queued and {LostRxPackets} received packets" : "");
    }

    /// <summary>Creates (and starts) every catalog channel in <paramref name="engine"/>.</summary>
    private (int Restored, int Failed) ArmChannels(EngineProcess engine, bool first)
    {
        int restored = 0, failed = 0;
        foreach (CatalogChannel channel in _catalog.Snapshot())
        {
            ChannelConfig config = channel.Config;
            ChannelHandle? handle = null;
            try
            {
                handle = engine.Client.CreateChannel(config);
                if (channel.Started)
                {
                    engine.Client.StartChannel(config.Id);
                }
                _catalog.Attach(config.Id, handle, null);
                string local = handle.BoundLocal.ToString(), state = handle.State.ToString();
                Log.ChannelArmed(_logger, config.Id, config.Name, local, state);
                restored++;
            }
            catch (Exception e) when (e is EngineCommandException or IOException or InvalidOperationException)
            {
                handle?.Dispose();
                _catalog.Attach(config.Id, null, e.Message);
                Log.ChannelArmFailed(_logger, e, config.Id, config.Name, e.Message);
                failed++;
                if (first)
                {
                    FatalError = $"channel {config.Id} '{config.Name}' could not be created: {e.Message}";
                    Log.StartFailed(_logger, FatalError);
                    return (restored, failed);
                }
            }
        }
        return (restored, failed);
    }

    /// <summary>
    /// After the engine died: the channels' files are unlinked by nobody, and our mappings of them
    /// still show the last counters the engine wrote. What was queued and not sent, and what was
    /// received and not drained, died with it.
    /// </summary>
    private void AccountLoss(int pid)
    {
        long tx = 0, rx = 0;
        foreach (CatalogChannel channel in _catalog.Snapshot())
        {
            if (channel.Handle is not { } handle)
            {
                continue;
            }
            // Producers still holding the handle now see a failed channel and stop enqueueing into it.
            handle.Region.State = ChannelState.Failed;
            ChannelRegion r = handle.Region;
            long pending = r.Read(ChannelCounter.Enqueued) - r.Read(ChannelCounter.Scanned) + r.Read(ChannelCounter.Scheduled);
            long buffered = r.Read(ChannelCounter.RxWritten) - r.Read(ChannelCounter.Drained);
            long enqueued = r.Read(ChannelCounter.Enqueued), sent = r.Read(ChannelCounter.Sent), received = r.Read(ChannelCounter.Received);
            Log.ChannelLost(_logger, channel.Config.Id, channel.Config.Name, pid, pending, buffered, enqueued, sent, received);
            tx += pending;
            rx += buffered;
            _catalog.Attach(channel.Config.Id, null, $"engine {pid} died");
            Retire(handle);
        }
        Interlocked.Add(ref _lostTx, tx);
        Interlocked.Add(ref _lostRx, rx);
        Log.EngineLoss(_logger, pid, tx, rx, LostTxPackets, LostRxPackets);
    }

    /// <summary>SIGTERM: close intake, drain for up to the window, stop the engine, log the totals.</summary>
    private async Task StopAsync(EngineProcess engine)
    {
        _gate.Close();
        List<(CatalogChannel Channel, ChannelHandle Handle)> channels = _catalog.Snapshot()
            .Where(c => c.Handle is not null).Select(c => (c, c.Handle!)).ToList();
        long sentBefore = channels.Sum(c => c.Handle.Region.Read(ChannelCounter.Sent));
        long pending = Pending(channels);
        Log.Draining(_logger, engine.Pid, pending, _options.DrainWindow.TotalMilliseconds);
        _notifier.Status($"stopping: intake closed, draining {pending} queued packets for up to {_options.DrainWindow.TotalSeconds:0.###} s");
        var drain = Stopwatch.StartNew();
        // Packets due within the window leave on time while we watch; the engine sends, we only wait.
        while (pending > 0 && drain.Elapsed < _options.DrainWindow && !engine.HasExited)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(10), CancellationToken.None);
            pending = Pending(channels);
        }
        drain.Stop();
        long sentDuringDrain = channels.Sum(c => c.Handle.Region.Read(ChannelCounter.Sent)) - sentBefore;

        _engine = null;
        EngineChanged?.Invoke(null);
        Log.EngineStopping(_logger, engine.Pid);
        bool clean = await Task.Run(() => engine.Stop(_options.StopTimeout), CancellationToken.None);

        // The engine has unlinked the channel files; our mappings still hold the final counters.
        long dropped = 0, undrained = 0, enqueued = 0, sent = 0;
        foreach ((CatalogChannel channel, ChannelHandle handle) in channels)
        {
            ChannelRegion r = handle.Region;
            long channelDropped = r.Read(ChannelCounter.DroppedStopped);
            long stillPending = r.Read(ChannelCounter.Enqueued) - r.Read(ChannelCounter.Scanned) + r.Read(ChannelCounter.Scheduled);
            if (!clean)
            {
                // Killed: what it still held was never counted by it.
                channelDropped += stillPending;
            }
            long buffered = r.Read(ChannelCounter.RxWritten) - r.Read(ChannelCounter.Drained);
            long channelEnqueued = r.Read(ChannelCounter.Enqueued), channelSent = r.Read(ChannelCounter.Sent), received = r.Read(ChannelCounter.Received);
            long droppedOther = r.Read(ChannelCounter.DroppedLate) + r.Read(ChannelCounter.DroppedError);
            Log.ChannelFinal(_logger, channel.Config.Id, channel.Config.Name, channelEnqueued, channelSent, droppedOther, channelDropped, received, buffered);
            dropped += channelDropped;
            undrained += buffered;
            enqueued += channelEnqueued;
            sent += channelSent;
            _catalog.Attach(channel.Config.Id, null, "daemon stopped");
            handle.Dispose();
        }
        engine.Client.Dispose();
        engine.Dispose();
        RetireAll();
        Log.ShutdownTotals(_logger, drain.Elapsed.TotalMilliseconds, sentDuringDrain, dropped, undrained, channels.Count, enqueued, sent);
        Log.EngineStopped(_logger, clean);
    }

    private static long Pending(List<(CatalogChannel Channel, ChannelHandle Handle)> channels)
    {
        long total = 0;
        foreach ((CatalogChannel _, ChannelHandle handle) in channels)
        {
            ChannelRegion r = handle.Region;
            if (handle.Config.Sends && r.State == ChannelState.Running)
            {
                total += r.Read(ChannelCounter.Enqueued) - r.Read(ChannelCounter.Scanned) + r.Read(ChannelCounter.Scheduled);
            }
        }
        return total;
    }

    /// <summary>
    /// The watchdog's question, asked every half WATCHDOG_USEC: since the last call, did the engine's
    /// conductor heartbeat advance, and every running channel's workers' heartbeats?
    /// </summary>
    /// <returns>null when everything advanced, else what did not.</returns>
    public string? CheckProgress()
    {
        EngineProcess? engine = _engine;
        if (engine is null)
        {
            return "engine down";
        }
        lock (_progressLock)
        {
            var now = new Dictionary<string, long>();
            string? stalled = null;
            try
            {
                now["engine"] = engine.Client.ReadHealth().Heartbeat;
                foreach (CatalogChannel channel in _catalog.Snapshot())
                {
                    if (channel.Handle is not { } handle || handle.State != ChannelState.Running)
                    {
                        continue;
                    }
                    if (channel.Config.Sends)
                    {
                        now[$"channel {channel.Config.Id} send worker"] = Volatile.Read(ref handle.Region.Health(true, WorkerHealthField.Heartbeat));
                    }
                    if (channel.Config.Receives)
                    {
                        now[$"channel {channel.Config.Id} receive worker"] = Volatile.Read(ref handle.Region.Health(false, WorkerHealthField.Heartbeat));
                    }
                }
            }
            catch (ObjectDisposedException)
            {
                return "engine down";
            }
            foreach ((string name, long beat) in now)
            {
                // A part seen for the first time has nothing to compare with: it counts as advancing.
                if (_lastBeats.TryGetValue(name, out long last) && beat == last)
                {
                    stalled = stalled is null ? name : $"{stalled}, {name}";
                }
            }
            _lastBeats.Clear();
            foreach ((string name, long beat) in now)
            {
                _lastBeats[name] = beat;
            }
            return stalled is null ? null : $"engine {engine.Pid}: {stalled} not advancing";
        }
    }

    /// <summary>Channel files of a dead engine: unlinked so a new engine's files are new inodes and old mappings stay readable.</summary>
    private void RemoveStaleChannelFiles()
    {
        foreach (string path in System.IO.Directory.EnumerateFiles(Directory, "channel-*.shm"))
        {
            MappedFile.Delete(path);
        }
    }

    // When each was retired, as a Stopwatch (monotonic) timestamp: a wall-clock step does not shorten the grace.
    private readonly List<(ChannelHandle Handle, long At)> _retired = [];

    /// <summary>Disposes a replaced handle later: API callers may still hold it for a moment.</summary>
    private void Retire(ChannelHandle handle)
    {
        lock (_retired)
        {
            long now = Stopwatch.GetTimestamp();
            _retired.RemoveAll(r =>
            {
                if (Stopwatch.GetElapsedTime(r.At, now) > RetiredHandleGrace)
                {
                    r.Handle.Dispose();
                    return true;
                }
                return false;
            });
            _retired.Add((handle, now));
        }
    }

    private void RetireAll()
    {
        lock (_retired)
        {
            foreach ((ChannelHandle handle, long _) in _retired)
            {
                handle.Dispose();
            }
            _retired.Clear();
        }
    }

    private static async Task<bool> Wait(TimeSpan delay, CancellationToken token)
    {
        try
        {
            await Task.Delay(delay, token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private TimeSpan Grow(TimeSpan delay) => TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRestartDelay.Ticks));

    private static string? NullIfEmpty(string value) => string.IsNullOrEmpty(value) ? null : value;

    private static partial class Log
    {
        [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Engine {Pid} running, files in {Directory}")]
        public static partial void EngineStarted(ILogger logger, int pid, string directory);

        [LoggerMessage(EventId = 101, Level = LogLevel.Error, Message = "Engine failed to start; retrying in {DelaySeconds} s")]
        public static partial void EngineStartFailed(ILogger logger, Exception exception, double delaySeconds);

        [LoggerMessage(EventId = 102, Level = LogLevel.Error, Message = "Engine {Pid} exited unexpectedly with code {ExitCode}; restarting in {DelaySeconds} s")]
        public static partial void EngineDied(ILogger logger, int pid, int exitCode, double delaySeconds);

        [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Stopping engine {Pid}")]
        public static partial void EngineStopping(ILogger logger, int pid);

        [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "Engine stopped (clean: {Clean})")]
        public static partial void EngineStopped(ILogger logger, bool clean);

        [LoggerMessage(EventId = 105, Level = LogLevel.Information, Message = "Channel {ChannelId} '{Name}' armed on {Local} ({State})")]
        public static partial void ChannelArmed(ILogger logger, uint channelId, string name, string local, string state);

        [LoggerMessage(EventId = 106, Level = LogLevel.Error, Message = "Channel {ChannelId} '{Name}' could not be created or started: {Reason}")]
        public static partial void ChannelArmFailed(ILogger logger, Exception exception, uint channelId, string name, string reason);

        [LoggerMessage(EventId = 107, Level = LogLevel.Critical, Message = "Start failed: {Reason}")]
        public static partial void StartFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 108, Level = LogLevel.Warning, Message = "Engine {Pid} restarted: {Restored} channels restored, {Failed} failed")]
        public static partial void ChannelsRestored(ILogger logger, int pid, int restored, int failed);

        [LoggerMessage(EventId = 116, Level = LogLevel.Information, Message = "Privilege separation in effect: {Description}")]
        public static partial void PrivilegesSeparated(ILogger logger, string description);

        [LoggerMessage(EventId = 117, Level = LogLevel.Warning, Message = "Privilege separation NOT in effect: {Description}")]
        public static partial void PrivilegesNotSeparated(ILogger logger, string description);

        [LoggerMessage(EventId = 118, Level = LogLevel.Critical, Message = "The engine launcher is gone, and with it the engine's capabilities: {Reason}; rtudpd exits so that the service manager restarts it")]
        public static partial void LauncherGone(ILogger logger, string reason);

        [LoggerMessage(EventId = 110, Level = LogLevel.Information, Message = "{EngineLine}")]
        public static partial void EngineOutput(ILogger logger, string engineLine);

        [LoggerMessage(EventId = 111, Level = LogLevel.Error, Message = "Channel {ChannelId} '{Name}' lost with engine {Pid}: {LostQueued} queued packets never sent, {LostReceived} received packets never drained (enqueued {Enqueued}, sent {Sent}, received {Received})")]
        public static partial void ChannelLost(ILogger logger, uint channelId, string name, int pid, long lostQueued, long lostReceived, long enqueued, long sent, long received);

        [LoggerMessage(EventId = 112, Level = LogLevel.Error, Message = "Engine {Pid} loss: {LostQueued} queued and {LostReceived} received packets lost; since start {TotalLostQueued} and {TotalLostReceived}")]
        public static partial void EngineLoss(ILogger logger, int pid, long lostQueued, long lostReceived, long totalLostQueued, long totalLostReceived);

        [LoggerMessage(EventId = 113, Level = LogLevel.Information, Message = "Intake closed; draining {Pending} queued packets of engine {Pid} for up to {WindowMs} ms")]
        public static partial void Draining(ILogger logger, int pid, long pending, double windowMs);

        [LoggerMessage(EventId = 114, Level = LogLevel.Information, Message = "Channel {ChannelId} '{Name}' final: enqueued {Enqueued}, sent {Sent}, dropped late/error {DroppedOther}, dropped at stop {DroppedStopped}; received {Received}, undrained {Undrained}")]
        public static partial void ChannelFinal(ILogger logger, uint channelId, string name, long enqueued, long sent, long droppedOther, long droppedStopped, long received, long undrained);

        [LoggerMessage(EventId = 115, Level = LogLevel.Information, Message = "Shutdown after {DrainMs:0} ms of drain: {SentDuringDrain} packets sent during the drain, {Dropped} dropped at stop, {Undrained} received never drained ({Channels} channels, enqueued {Enqueued}, sent {Sent})")]
        public static partial void ShutdownTotals(ILogger logger, double drainMs, long sentDuringDrain, long dropped, long undrained, int channels, long enqueued, long sent);
    }
}
