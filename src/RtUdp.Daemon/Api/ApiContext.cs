using Microsoft.Extensions.Options;
using RtUdp.Core.Client;
using RtUdp.Daemon.Engine;

namespace RtUdp.Daemon.Api;

/// <summary>What every service needs: the engine (through the supervisor), the channels, the options; and the common lookups.</summary>
public sealed class ApiContext(EngineSupervisor supervisor, ChannelRegistry registry, IOptions<RtUdpApiOptions> options)
{
    public EngineSupervisor Supervisor { get; } = supervisor;

    public ChannelRegistry Registry { get; } = registry;

    public RtUdpApiOptions Options { get; } = options.Value;

    /// <summary>The running engine, or UNAVAILABLE.</summary>
    public EngineClient RequireEngine() => Supervisor.Client ?? throw ApiErrors.EngineDown();

    /// <summary>Whether the engine that holds the channel is the one running now.</summary>
    public bool IsLive(ChannelEntry entry) => Supervisor.Client is { } client && ReferenceEquals(client, entry.Engine);

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

    /// <summary>A lease on a live channel's memory: NOT_FOUND, or UNAVAILABLE when the engine is down or the channel was lost with it.</summary>
    public ChannelEntry.Lease Lease(string name, string field) => FindLive(name, field).Enter() ?? throw ApiErrors.NotFound(name);

    /// <summary>The channel, held by the engine running now: NOT_FOUND, or UNAVAILABLE when the engine is down or the channel was lost with it.</summary>
    public ChannelEntry FindLive(string name, string field)
    {
        ChannelEntry entry = Find(name, field);
        if (Supervisor.Client is null)
        {
            throw ApiErrors.EngineDown();
        }
        return IsLive(entry) ? entry : throw ApiErrors.ChannelLost(entry.Name);
    }
}
