using RtUdp.Daemon.Engine;

namespace RtUdp.Daemon.Hosting;

/// <summary>
/// systemd's side of the daemon: STOPPING=1 as soon as the host stops, and WATCHDOG=1 every half
/// WATCHDOG_USEC, but only while the engine's conductor and every running worker advance. READY=1
/// and STATUS= come from the supervisor, which knows when the engine and the channels are armed.
/// </summary>
internal sealed partial class SystemdService(SystemdNotifier notifier, EngineSupervisor supervisor, IntakeGate gate, IHostApplicationLifetime lifetime, ILogger<SystemdService> logger) : BackgroundService
{
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStopping.Register(() =>
        {
            gate.Close();
            notifier.Stopping("stopping: intake closed");
            Log.Stopping(logger);
        });
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (notifier.WatchdogInterval is not { } interval)
        {
            return;
        }
        Log.WatchdogEnabled(logger, interval.TotalMilliseconds);
        try
        {
            await supervisor.Ready.WaitAsync(stoppingToken);
            using var timer = new PeriodicTimer(interval);
            // The first sample only records the heartbeats.
            _ = supervisor.CheckProgress();
            string? previous = null;
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                string? stalled = supervisor.CheckProgress();
                if (stalled is null)
                {
                    notifier.Watchdog();
                    if (previous is not null)
                    {
                        Log.WatchdogResumed(logger);
                        notifier.Status($"engine {supervisor.EnginePid} running again");
                    }
                }
                else if (stalled != previous)
                {
                    Log.WatchdogWithheld(logger, stalled);
                    notifier.Status($"not advancing: {stalled}");
                }
                previous = stalled;
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "systemd watchdog on: WATCHDOG=1 every {IntervalMs} ms while the engine advances")]
        public static partial void WatchdogEnabled(ILogger logger, double intervalMs);

        [LoggerMessage(EventId = 201, Level = LogLevel.Error, Message = "Withholding WATCHDOG=1: {Stalled}")]
        public static partial void WatchdogWithheld(ILogger logger, string stalled);

        [LoggerMessage(EventId = 202, Level = LogLevel.Information, Message = "Engine advancing again; WATCHDOG=1 resumed")]
        public static partial void WatchdogResumed(ILogger logger);

        [LoggerMessage(EventId = 203, Level = LogLevel.Information, Message = "Stopping: intake closed, STOPPING=1 sent")]
        public static partial void Stopping(ILogger logger);
    }
}
