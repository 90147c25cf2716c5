using System.Diagnostics;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Daemon.Hosting;

namespace RtUdp.Daemon.Engine;

/// <summary>
/// The daemon's stop (SIGTERM). With an engine running: close intake, let the packets due within the
/// drain window go out, stop the engine (which counts the rest dropped), and log each channel's final
/// counters and the totals.
/// </summary>
internal sealed partial class EngineShutdown(EngineSupervisorOptions options, IChannelCatalog catalog, IntakeGate gate, SystemdNotifier notifier, RetiredHandles retired, ILogger logger)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>Stopped while no engine was running: only intake and the retired handles are left to close.</summary>
    public void StopIdle()
    {
        gate.Close();
        retired.ReleaseAll();
        Log.EngineStopped(logger, true);
    }

    /// <param name="detach">Called once the drain is over, before the engine is stopped: nobody may use its client after.</param>
    public async Task DrainAndStopAsync(EngineProcess engine, Action detach)
    {
        gate.Close();
        List<(CatalogChannel Channel, ChannelHandle Handle)> channels = catalog.Snapshot()
            .Where(c => c.Handle is not null).Select(c => (c, c.Handle!)).ToList();
        (TimeSpan drained, long sentDuringDrain) = await DrainAsync(engine, channels);

        detach();
        Log.EngineStopping(logger, engine.Pid);
        bool clean = await Task.Run(() => engine.Stop(options.StopTimeout), CancellationToken.None);

        Totals totals = AccountFinal(channels, clean);
        engine.Client.Dispose();
        engine.Dispose();
        retired.ReleaseAll();
        Log.ShutdownTotals(logger, drained.TotalMilliseconds, sentDuringDrain, totals.Dropped, totals.Undrained, channels.Count, totals.Enqueued, totals.Sent);
        Log.EngineStopped(logger, clean);
    }

    /// <summary>Waits, up to the drain window, until the running channels hold nothing to send.</summary>
    private async Task<(TimeSpan Elapsed, long SentDuringDrain)> DrainAsync(EngineProcess engine, List<(CatalogChannel Channel, ChannelHandle Handle)> channels)
    {
        long sentBefore = channels.Sum(c => c.Handle.Region.Read(ChannelCounter.Sent));
        long pending = Pending(channels);
        Log.Draining(logger, engine.Pid, pending, options.DrainWindow.TotalMilliseconds);
        notifier.Status($"stopping: intake closed, draining {pending} queued packets for up to {options.DrainWindow.TotalSeconds:0.###} s");
        var drain = Stopwatch.StartNew();
        // Packets due within the window leave on time while we watch; the engine sends, we only wait.
        while (pending > 0 && drain.Elapsed < options.DrainWindow && !engine.HasExited)
        {
            await Task.Delay(PollInterval, CancellationToken.None);
            pending = Pending(channels);
        }
        drain.Stop();
        return (drain.Elapsed, channels.Sum(c => c.Handle.Region.Read(ChannelCounter.Sent)) - sentBefore);
    }

    private static long Pending(List<(CatalogChannel Channel, ChannelHandle Handle)> channels)
    {
        long total = 0;
        foreach ((CatalogChannel _, ChannelHandle handle) in channels)
        {
            if (handle.Config.Sends && handle.Region.State == ChannelState.Running)
            {
                total += ChannelAccounting.Pending(handle.Region);
            }
        }
        return total;
    }

    private readonly record struct Totals(long Dropped, long Undrained, long Enqueued, long Sent);

    /// <summary>
    /// The engine has unlinked the channel files; our mappings still hold the final counters. Logs
    /// them, detaches the channels and unmaps them.
    /// </summary>
    private Totals AccountFinal(List<(CatalogChannel Channel, ChannelHandle Handle)> channels, bool clean)
    {
        long dropped = 0, undrained = 0, enqueued = 0, sent = 0;
        foreach ((CatalogChannel channel, ChannelHandle handle) in channels)
        {
            TxBalance tx = ChannelAccounting.Tx(handle.Region);
            long buffered = ChannelAccounting.Buffered(handle.Region);
            long received = handle.Region.Read(ChannelCounter.Received);
            // Killed: what it still held was never counted by it.
            long channelDropped = tx.DroppedStopped + (clean ? 0 : tx.Pending);
            Log.ChannelFinal(logger, channel.Config.Id, channel.Config.Name, tx.Enqueued, tx.Sent, tx.DroppedLate + tx.DroppedError, channelDropped, received, buffered);
            dropped += channelDropped;
            undrained += buffered;
            enqueued += tx.Enqueued;
            sent += tx.Sent;
            catalog.Attach(channel.Config.Id, null, "daemon stopped");
            handle.Dispose();
        }
        return new Totals(dropped, undrained, enqueued, sent);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Stopping engine {Pid}")]
        public static partial void EngineStopping(ILogger logger, int pid);

        [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "Engine stopped (clean: {Clean})")]
        public static partial void EngineStopped(ILogger logger, bool clean);

        [LoggerMessage(EventId = 113, Level = LogLevel.Information, Message = "Intake closed; draining {Pending} queued packets of engine {Pid} for up to {WindowMs} ms")]
        public static partial void Draining(ILogger logger, int pid, long pending, double windowMs);

        [LoggerMessage(EventId = 114, Level = LogLevel.Information, Message = "Channel {ChannelId} '{Name}' final: enqueued {Enqueued}, sent {Sent}, dropped late/error {DroppedOther}, dropped at stop {DroppedStopped}; received {Received}, undrained {Undrained}")]
        public static partial void ChannelFinal(ILogger logger, uint channelId, string name, long enqueued, long sent, long droppedOther, long droppedStopped, long received, long undrained);

        [LoggerMessage(EventId = 115, Level = LogLevel.Information, Message = "Shutdown after {DrainMs:0} ms of drain: {SentDuringDrain} packets sent during the drain, {Dropped} dropped at stop, {Undrained} received never drained ({Channels} channels, enqueued {Enqueued}, sent {Sent})")]
        public static partial void ShutdownTotals(ILogger logger, double drainMs, long sentDuringDrain, long dropped, long undrained, int channels, long enqueued, long sent);
    }
}
