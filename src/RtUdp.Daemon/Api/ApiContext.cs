using Microsoft.Extensions.Options;
using RtUdp.Core.EngineLink;
using RtUdp.Daemon.Engine;
using RtUdp.Daemon.Hosting;
using RtUdp.Daemon.Limits;

namespace RtUdp.Daemon.Api;

/// <summary>What every service needs: the engine (through the supervisor), the channels, the options, intake; and the common lookups.</summary>
public sealed class ApiContext(EngineSupervisor supervisor, ChannelRegistry registry, IOptions<RtUdpApiOptions> options, IIntakeGate? intake = null, ClientQuotas? quotas = null)
{
    /// <summary>The per-client limits (none when not registered).</summary>
    public ClientQuotas? Quotas { get; } = quotas is { Enabled: true } ? quotas : null;

    public EngineSupervisor Supervisor { get; } = supervisor;

    public ChannelRegistry Registry { get; } = registry;

    public RtUdpApiOptions Options { get; } = options.Value;

    /// <summary>The running engine, or UNAVAILABLE.</summary>
    public EngineConnection RequireEngine() => Supervisor.Client ?? throw ApiErrors.EngineDown();

    /// <summary>UNAVAILABLE once the daemon is stopping (intake closed at SIGTERM).</summary>
    public void RequireIntake()
    {
        if (intake is { Accepting: false })
        {
            throw ApiErrors.Stopping();
        }
    }

    /// <summary>Whether the channel is attached to the engine running now.</summary>
    public bool IsLive(ChannelEntry entry) => Supervisor.Client is not null && entry.Handle is not null;

    /// <summary>The channel named "channels/{id}"; INVALID_ARGUMENT for another form, NOT_FOUND when there is none.</summary>
    public ChannelEntry Find(string name, string field)
    {
        string? id = ChannelRegistry.IdFromName(name);
        if (id is null)
        {
            throw ApiErrors.InvalidArgument(field, $"'{name}' is not a channel name: expected {ChannelRegistry.Prefix}{{channel_id}}");
        }
        return Registry.TryGet(id, out ChannelEntry entry) ? entry : throw ApiErrors.NotFound(name);
    }

    /// <summary>A lease on a live channel's memory: NOT_FOUND, or UNAVAILABLE when the engine is down or the channel is detached.</summary>
    public ChannelEntry.Lease Lease(string name, string field) => Enter(FindLive(name, field));

    /// <summary>A lease on the channel's current handle (whether or not the engine runs, for reads): NOT_FOUND or UNAVAILABLE.</summary>
    public ChannelEntry.Lease Enter(ChannelEntry entry) =>
        entry.Enter() ?? throw (entry.Closing ? ApiErrors.NotFound(entry.Name) : ApiErrors.ChannelLost(entry.Name, entry.DetachedReason));

    /// <summary>The channel, attached to the engine running now: NOT_FOUND, or UNAVAILABLE when the engine is down or the channel detached.</summary>
    public ChannelEntry FindLive(string name, string field)
    {
        ChannelEntry entry = Find(name, field);
        if (Supervisor.Client is null)
        {
            throw ApiErrors.EngineDown();
        }
        return entry.Handle is not null ? entry : throw ApiErrors.ChannelLost(entry.Name, entry.DetachedReason);
    }
}
