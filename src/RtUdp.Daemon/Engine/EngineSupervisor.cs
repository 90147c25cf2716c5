using Microsoft.Extensions.Options;
using RtUdp.Core.Client;
using RtUdp.Core.Engine;

namespace RtUdp.Daemon.Engine;

/// <summary>
/// Starts the engine process, watches it, and restarts it with a growing back-off when it dies.
/// The daemon's own threads allocate freely; the engine's never see a GC of this process.
/// </summary>
public sealed partial class EngineSupervisor(IOptions<EngineSupervisorOptions> options, ILogger<EngineSupervisor> logger) : BackgroundService
{
    private readonly EngineSupervisorOptions _options = options.Value;
    private volatile EngineProcess? _engine;

    /// <summary>The running engine's client, or null while it is down.</summary>
    public EngineClient? Client => _engine?.Client;

    public int Restarts { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        string directory = string.IsNullOrEmpty(_options.Directory) ? EngineOptions.DefaultDirectory() : _options.Directory;
        TimeSpan delay = TimeSpan.FromMilliseconds(250);
        while (!stoppingToken.IsCancellationRequested)
        {
            EngineProcess engine;
            try
            {
                engine = await Task.Run(() => EngineProcess.Start(directory, line => Log.EngineOutput(logger, line), NullIfEmpty(_options.Path), _options.LockMemory), stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.EngineStartFailed(logger, e, delay.TotalSeconds);
                await Task.Delay(delay, stoppingToken);
                delay = Grow(delay);
                continue;
            }

            _engine = engine;
            Log.EngineStarted(logger, engine.Pid, directory);
            try
            {
                await engine.WaitForExitAsync(stoppingToken);
                _engine = null;
                Restarts++;
                Log.EngineDied(logger, engine.Pid, engine.ExitCode, delay.TotalSeconds);
                engine.Client.Dispose();
                await Task.Delay(delay, stoppingToken);
                delay = Grow(delay);
            }
            catch (OperationCanceledException)
            {
                _engine = null;
                Log.EngineStopping(logger, engine.Pid);
                bool clean = engine.Stop(_options.StopTimeout);
                engine.Dispose();
                Log.EngineStopped(logger, clean);
                return;
            }
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

        [LoggerMessage(EventId = 110, Level = LogLevel.Information, Message = "{EngineLine}")]
        public static partial void EngineOutput(ILogger logger, string engineLine);
    }
}
