using RtUdp.Daemon.Engine;

namespace RtUdp.Daemon.Hosting;

/// <summary>
/// systemd's side of the daemon: STOPPING=1 as soon as the host stops, and WATCHDOG=1 every half
/// WATCHDOG_USEC while rtudpd itself runs and its engine is healthy or being healed: a stalled engine is
/// restarted by rtudpd first (<see cref="StallBounds"/>); WATCHDOG=1 stops only when that did not heal it,
/// so systemd's restart of the whole service is the last resort. READY=1 and STATUS= come from the
/// supervisor, which knows when the engine and the channels are armed.
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
            string? previous = null;
            do
            {
                string? withheld = supervisor.WatchdogVerdict();
                if (withheld is null)
                {
                    notifier.Watchdog();
                    if (previous is not null)
                    {
                        Log.WatchdogResumed(logger);
                    }
                }
                else if (previous is null)
                {
                    Log.WatchdogWithheld(logger, withheld);
                    notifier.Status($"not healed: {withheld}; WATCHDOG=1 withheld");
                }
                previous = withheld;
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 500, Level = LogLevel.Information, Message = "systemd watchdog on: WATCHDOG=1 every {IntervalMs} ms while the engine advances or is being restarted")]
        public static partial void WatchdogEnabled(ILogger logger, double intervalMs);

        [LoggerMessage(EventId = 501, Level = LogLevel.Error, Message = "Withholding WATCHDOG=1: {Stalled}")]
        public static partial void WatchdogWithheld(ILogger logger, string stalled);

        [LoggerMessage(EventId = 502, Level = LogLevel.Information, Message = "Engine healed; WATCHDOG=1 resumed")]
        public static partial void WatchdogResumed(ILogger logger);

        [LoggerMessage(EventId = 503, Level = LogLevel.Information, Message = "Stopping: intake closed, STOPPING=1 sent")]
        public static partial void Stopping(ILogger logger);
    }
}
