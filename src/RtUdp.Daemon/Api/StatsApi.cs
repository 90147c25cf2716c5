using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using RtUdp.Core.Contract.Stats;
using RtUdp.V1;

namespace RtUdp.Daemon.Api;

/// <summary>rtudp.v1.StatsService: reads the channel's shared memory, never the engine.</summary>
public sealed class StatsApi(ApiContext api) : StatsService.StatsServiceBase
{
    private static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MaxInterval = TimeSpan.FromHours(1);

    public override Task<GetStatsResponse> GetStats(GetStatsRequest request, ServerCallContext context)
    {
        ChannelEntry entry = api.Find(request.Name, "name");
        using ChannelEntry.Lease lease = api.Enter(entry);
        return Task.FromResult(new GetStatsResponse { Stats = StatsMapping.ToProto(entry, lease.Handle, api.IsLive(entry)) });
    }

    public override Task<GetHistogramResponse> GetHistogram(GetHistogramRequest request, ServerCallContext context)
    {
        var violations = new List<ApiErrors.Violation>();
        if (StatsMapping.ToCore(request.Kind) is not { } kind)
        {
            violations.Add(new("kind", $"unknown value {(int)request.Kind}"));
            kind = default;
        }
        for (int i = 0; i < request.Percentiles.Count; i++)
        {
            double p = request.Percentiles[i];
            if (double.IsNaN(p) || p < 0 || p > 100)
            {
                violations.Add(new($"percentiles[{i}]", $"{p} is not a percentile (0-100)"));
            }
        }
        ChannelEntry entry = api.Find(request.Name, "name");
        if (violations.Count > 0)
        {
            throw ApiErrors.InvalidArgument(violations);
        }
        HistogramSnapshot snapshot;
        using (ChannelEntry.Lease lease = api.Enter(entry))
        {
            snapshot = lease.Handle.Region.Histogram(kind).Snapshot();
        }
        IReadOnlyList<double> percentiles = request.Percentiles.Count > 0 ? request.Percentiles : StatsMapping.DefaultPercentiles;
        HistogramKind resultKind = request.Kind == HistogramKind.Unspecified ? HistogramKind.SendError : request.Kind;
        return Task.FromResult(new GetHistogramResponse { Histogram = StatsMapping.ToProto(resultKind, snapshot, percentiles) });
    }

    public override async Task WatchStats(WatchStatsRequest request, IServerStreamWriter<WatchStatsResponse> responseStream, ServerCallContext context)
    {
        var violations = new List<ApiErrors.Violation>();
        TimeSpan? parsed = request.Interval is null ? TimeSpan.FromSeconds(1) : ApiErrors.ToTimeSpan(request.Interval, "interval", violations);
        if (parsed is null)
        {
            throw ApiErrors.InvalidArgument(violations);
        }
        TimeSpan interval = parsed.Value;
        if (interval < MinInterval || interval > MaxInterval)
        {
            throw ApiErrors.InvalidArgument("interval", "must be 10 ms to 1 h");
        }
        ChannelEntry entry = api.Find(request.Name, "name");
        using var timer = new PeriodicTimer(interval);
        do
        {
            WatchStatsResponse response;
            using (ChannelEntry.Lease? lease = entry.Enter())
            {
                if (entry.Closing)
                {
                    return; // deleted: the stream ends
                }
                if (lease is null)
                {
                    continue; // detached (engine restarting): the next tick may find it restored
                }
                response = new WatchStatsResponse { Stats = StatsMapping.ToProto(entry, lease.Handle, api.IsLive(entry)), Time = Timestamp.FromDateTime(DateTime.UtcNow) };
            }
            await responseStream.WriteAsync(response, context.CancellationToken);
        }
        while (await WaitAsync(timer, context.CancellationToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
