using Grpc.Core;
using RtUdp.Core.Contract.Control;
using RtUdp.Daemon.Hosting;
using RtUdp.V1;
using ChannelConfig = RtUdp.Core.Contract.Channels.ChannelConfig;
using CoreCounter = RtUdp.Core.Contract.Channels.ChannelCounter;

namespace RtUdp.Daemon.Api;

/// <summary>rtudp.v1.ChannelService over the <see cref="ChannelRegistry"/> and the engine.</summary>
public sealed class ChannelApi(ApiContext api) : ChannelService.ChannelServiceBase
{
    public override async Task<CreateChannelResponse> CreateChannel(CreateChannelRequest request, ServerCallContext context)
    {
        var violations = new List<ApiErrors.Violation>();
        string id = request.ChannelId;
        if (id.Length is 0 or > ChannelConfig.MaxNameLength || !id.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_' or '-'))
        {
            violations.Add(new("channel_id", $"must be 1-{ChannelConfig.MaxNameLength} characters of a-z, 0-9, '.', '_' or '-'"));
        }
        ChannelConfig config = ChannelMapping.ToConfig(id, request.Channel, violations);
        if (violations.Count > 0)
        {
            throw ApiErrors.InvalidArgument(violations);
        }
        if (api.Registry.TryGet(id, out _))
        {
            throw ApiErrors.AlreadyExists(ChannelRegistry.Prefix + id);
        }
        api.RequireIntake();
        var engine = api.RequireEngine();
        IReadOnlyList<string> notes = CheckAgainstHost(config);
        ChannelEntry entry;
        try
        {
            entry = await api.Registry.CreateAsync(id, config, engine, request.Start, context.CancellationToken, notes);
        }
        catch (EngineCommandException e) when (e.Status == EngineStatus.AlreadyExists && api.Registry.TryGet(id, out _))
        {
            throw ApiErrors.AlreadyExists(ChannelRegistry.Prefix + id);
        }
        using ChannelEntry.Lease lease = api.Enter(entry);
        return new CreateChannelResponse { Channel = ChannelMapping.ToProto(entry, lease.Handle, api.IsLive(entry)) };
    }

    /// <summary>
    /// The settings the engine's host cannot honour: INVALID_ARGUMENT (a CPU that does not exist),
    /// FAILED_PRECONDITION (a CPU outside its cpuset; a priority beyond its limits with REQUIRE_REALTIME),
    /// else the degradations the channel will run with, as notes.
    /// </summary>
    private List<string> CheckAgainstHost(ChannelConfig config)
    {
        (Core.Capabilities.HostCpus? cpus, Core.Capabilities.RealtimeLimits? limits, _) = ChannelHostCheck.FactsOf(api.Supervisor.EnginePid, api.Supervisor.Client);
        if (cpus is null)
        {
            // The engine is gone (it is restarting): its create answers for itself.
            return [];
        }
        IReadOnlyList<HostFinding> findings = ChannelHostCheck.Check(config, cpus, limits);
        List<ApiErrors.Violation> invalid = [.. findings.Where(f => f.Verdict == HostVerdict.Invalid).Select(f => new ApiErrors.Violation("channel." + f.Field, f.Message))];
        if (invalid.Count > 0)
        {
            throw ApiErrors.InvalidArgument(invalid);
        }
        if (findings.FirstOrDefault(f => f.Verdict == HostVerdict.Precondition) is { } precondition)
        {
            throw ApiErrors.FailedPrecondition("channel." + precondition.Field, precondition.Message, "HOST");
        }
        return [.. findings.Select(f => f.Note)];
    }

    public override Task<GetChannelResponse> GetChannel(GetChannelRequest request, ServerCallContext context)
    {
        ChannelEntry entry = api.Find(request.Name, "name");
        using ChannelEntry.Lease? lease = entry.Enter();
        if (lease is null && entry.Closing)
        {
            throw ApiErrors.NotFound(request.Name);
        }
        return Task.FromResult(new GetChannelResponse { Channel = ChannelMapping.ToProto(entry, lease?.Handle, api.IsLive(entry)) });
    }

    public override Task<ListChannelsResponse> ListChannels(ListChannelsRequest request, ServerCallContext context)
    {
        if (request.PageSize < 0)
        {
            throw ApiErrors.InvalidArgument("page_size", "must not be negative");
        }
        string? after = null;
        if (request.PageToken.Length > 0)
        {
            after = ChannelRegistry.IdFromName(request.PageToken) ?? throw ApiErrors.InvalidArgument("page_token", "not a token this service gave");
        }
        var response = new ListChannelsResponse();
        foreach (ChannelEntry entry in api.Registry.List())
        {
            if (after is not null && string.CompareOrdinal(entry.Id, after) <= 0)
            {
                continue;
            }
            if (request.PageSize > 0 && response.Channels.Count == request.PageSize)
            {
                response.NextPageToken = response.Channels[^1].Name;
                break;
            }
            using ChannelEntry.Lease? lease = entry.Enter();
            if (lease is not null || !entry.Closing)
            {
                response.Channels.Add(ChannelMapping.ToProto(entry, lease?.Handle, api.IsLive(entry)));
            }
        }
        return Task.FromResult(response);
    }

    public override async Task<DeleteChannelResponse> DeleteChannel(DeleteChannelRequest request, ServerCallContext context)
    {
        ChannelEntry entry = api.Find(request.Name, "name");
        Core.EngineLink.ChannelStats? counters;
        try
        {
            counters = await api.Registry.DeleteAsync(entry, api.Supervisor.Client);
        }
        catch (EngineCommandException e) when (e.Status == EngineStatus.NotFound)
        {
            throw ApiErrors.NotFound(request.Name);
        }
        var response = new DeleteChannelResponse();
        if (counters is not null)
        {
            foreach ((CoreCounter counter, long value) in counters.Counters)
            {
                response.FinalCounters[StatsMapping.CounterName(counter)] = value;
            }
            // Received but never drained: discarded with the channel's RX ring, so counted here
            // (received = drained + rx_dropped_overflow + rx_dropped_truncated + reflected + reflect_errors + rx_dropped_stopped).
            response.FinalCounters["rx_dropped_stopped"] = counters.Buffered;
            response.FinalCounters["rejected_quota"] = entry.RejectedQuota;
        }
        return response;
    }

    public override async Task<StartChannelResponse> StartChannel(StartChannelRequest request, ServerCallContext context)
    {
        // No lease across the command: a concurrent delete must not wait for it.
        api.RequireIntake();
        ChannelEntry entry = api.FindLive(request.Name, "name");
        await api.Registry.StartAsync(entry, api.RequireEngine());
        using ChannelEntry.Lease lease = api.Enter(entry);
        return new StartChannelResponse { Channel = ChannelMapping.ToProto(entry, lease.Handle, api.IsLive(entry)) };
    }

    public override async Task<StopChannelResponse> StopChannel(StopChannelRequest request, ServerCallContext context)
    {
        // No lease across the command: a concurrent delete must not wait for it.
        ChannelEntry entry = api.FindLive(request.Name, "name");
        await api.Registry.StopAsync(entry, api.RequireEngine());
        using ChannelEntry.Lease lease = api.Enter(entry);
        return new StopChannelResponse { Channel = ChannelMapping.ToProto(entry, lease.Handle, api.IsLive(entry)) };
    }
}
