using RtUdp.Core.EngineLink;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Control;
using RtUdp.Daemon.Hosting;

namespace RtUdp.Daemon.Engine;

/// <summary>
/// Creates every catalog channel in a freshly started engine, starts those that were running, and
/// attaches the new handles to the catalog. At the daemon's start a channel that cannot be created is
/// fatal; after a restart it is logged and the others go on.
/// </summary>
internal sealed partial class ChannelArming(IChannelCatalog catalog, ILogger logger)
{
    /// <param name="Fatal">Set when the first arming stopped at a channel that could not be created.</param>
    public readonly record struct Result(int Restored, int Failed, string? Fatal);

    public Result Arm(EngineProcess engine, bool first)
    {
        int restored = 0, failed = 0;
        (Core.Capabilities.HostCpus? cpus, Core.Capabilities.RealtimeLimits? limits, string? factsError) = ChannelHostCheck.FactsOf(engine.Pid, engine.Client);
        if (factsError is not null)
        {
            Log.HostFactsUnknown(logger, engine.Pid, factsError);
        }
        foreach (CatalogChannel channel in catalog.Snapshot())
        {
            ChannelConfig config = channel.Config;
            ChannelHandle? handle = null;
            IReadOnlyList<HostFinding> findings = cpus is null ? [] : ChannelHostCheck.Check(config, cpus, limits);
            if (findings.FirstOrDefault(f => f.Verdict != HostVerdict.Degraded) is { } refused)
            {
                // The channel's own words: its configuration key, or its API field.
                string reason = channel.Key is { } key
                    ? $"{key}:{ChannelSection.CamelCase(refused.Field)}: {refused.Message}"
                    : $"channel.{refused.Field}: {refused.Message}";
                catalog.Attach(config.Id, null, reason);
                Log.ChannelRefusedByHost(logger, config.Id, config.Name, reason);
                failed++;
                if (first)
                {
                    string fatal = $"channel {config.Id} '{config.Name}' cannot run on this host: {reason}";
                    Log.StartFailed(logger, fatal);
                    return new Result(restored, failed, fatal);
                }
                continue;
            }
            IReadOnlyList<string> notes = [.. findings.Select(f => f.Note)];
            foreach (string note in notes)
            {
                Log.ChannelDegraded(logger, config.Id, config.Name, note);
            }
            try
            {
                handle = engine.Client.CreateChannel(config);
                if (channel.Started)
                {
                    engine.Client.StartChannel(config.Id);
                }
                catalog.Attach(config.Id, handle, null, notes);
                string local = handle.BoundLocal.ToString(), state = handle.State.ToString();
                Log.ChannelArmed(logger, config.Id, config.Name, local, state);
                restored++;
            }
            catch (Exception e) when (e is EngineCommandException or IOException or InvalidOperationException)
            {
                handle?.Dispose();
                catalog.Attach(config.Id, null, e.Message);
                Log.ChannelArmFailed(logger, e, config.Id, config.Name, e.Message);
                failed++;
                if (first)
                {
                    string fatal = $"channel {config.Id} '{config.Name}' could not be created: {e.Message}";
                    Log.StartFailed(logger, fatal);
                    return new Result(restored, failed, fatal);
                }
            }
        }
        return new Result(restored, failed, null);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 105, Level = LogLevel.Information, Message = "Channel {ChannelId} '{Name}' armed on {Local} ({State})")]
        public static partial void ChannelArmed(ILogger logger, uint channelId, string name, string local, string state);

        [LoggerMessage(EventId = 106, Level = LogLevel.Error, Message = "Channel {ChannelId} '{Name}' could not be created or started: {Reason}")]
        public static partial void ChannelArmFailed(ILogger logger, Exception exception, uint channelId, string name, string reason);

        [LoggerMessage(EventId = 107, Level = LogLevel.Critical, Message = "Start failed: {Reason}")]
        public static partial void StartFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 109, Level = LogLevel.Error, Message = "Channel {ChannelId} '{Name}' cannot run on this host: {Reason}")]
        public static partial void ChannelRefusedByHost(ILogger logger, uint channelId, string name, string reason);

        [LoggerMessage(EventId = 125, Level = LogLevel.Warning, Message = "Channel {ChannelId} '{Name}' runs degraded: {Note}")]
        public static partial void ChannelDegraded(ILogger logger, uint channelId, string name, string note);

        [LoggerMessage(EventId = 126, Level = LogLevel.Warning, Message = "The engine's ({Pid}) CPUs or real-time limits could not be read, channels are not checked against them: {Error}")]
        public static partial void HostFactsUnknown(ILogger logger, int pid, string error);
    }
}
