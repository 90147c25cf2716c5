using Google.Rpc;
using Grpc.Core;
using Grpc.Net.Client;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Api;

/// <summary>The rtudp.v1 clients on one gRPC channel, and the seed's channels.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class Clients(GrpcChannel channel)
{
    public ChannelService.ChannelServiceClient Channels { get; } = new(channel);
    public PacketService.PacketServiceClient Packets { get; } = new(channel);
    public StatsService.StatsServiceClient Stats { get; } = new(channel);
    public ClockService.ClockServiceClient Clock { get; } = new(channel);
    public CapabilityService.CapabilityServiceClient Capabilities { get; } = new(channel);

    private static int _serial;

    /// <summary>A channel id no other test uses.</summary>
    public static string UniqueId(string prefix) => $"{prefix}-{Interlocked.Increment(ref _serial)}-{Environment.TickCount64 % 100000}";

    public async Task<Channel> CreateReceiverAsync(string id, int maxPayload = 2048, bool start = true)
    {
        var response = await Channels.CreateChannelAsync(new CreateChannelRequest
        {
            ChannelId = id,
            Start = start,
            Channel = new Channel
            {
                Direction = ChannelDirection.Receive,
                Local = new Endpoint { Address = "127.0.0.1", Port = 0 },
                Capacity = 1024,
                MaxPayload = maxPayload,
                Priority = 0,
            },
        });
        return response.Channel;
    }

    public async Task<Channel> CreateSenderAsync(string id, Endpoint remote, bool start = true, Action<Channel>? configure = null)
    {
        var channel = new Channel
        {
            Direction = ChannelDirection.Send,
            Local = new Endpoint { Address = "127.0.0.1", Port = 0 },
            Remote = remote,
            Capacity = 1024,
            MaxPayload = 2048,
            Priority = 0,
        };
        configure?.Invoke(channel);
        var response = await Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = id, Start = start, Channel = channel });
        return response.Channel;
    }

    public async Task DeleteAsync(params Channel[] channels)
    {
        foreach (Channel c in channels)
        {
            await Channels.DeleteChannelAsync(new DeleteChannelRequest { Name = c.Name });
        }
    }

    /// <summary>Polls GetStats until <paramref name="condition"/> holds (bounded).</summary>
    public async Task<V1.ChannelStats> WaitStatsAsync(string name, Func<V1.ChannelStats, bool> condition, TimeSpan? timeout = null)
    {
        // Bounded on the monotonic clock: a wall-clock step (WallClockStepTests) must not shorten or stretch the wait.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        TimeSpan limit = timeout ?? TimeSpan.FromSeconds(5);
        while (true)
        {
            V1.ChannelStats stats = (await Stats.GetStatsAsync(new GetStatsRequest { Name = name })).Stats;
            if (condition(stats))
            {
                return stats;
            }
            if (clock.Elapsed > limit)
            {
                Assert.Fail($"stats of {name} never met the condition: {stats}");
            }
            await Task.Delay(10);
        }
    }
}

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public static class RpcAssert
{
    /// <summary>Awaits a call that must fail with <paramref name="code"/>; returns the google.rpc.Status it carried.</summary>
    public static async Task<Google.Rpc.Status> FailsAsync(StatusCode code, Func<Task> call)
    {
        RpcException e = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(code == e.StatusCode, $"expected {code}, got {e.StatusCode}: {e.Status.Detail}");
        return e.GetRpcStatus() ?? new Google.Rpc.Status { Code = (int)e.StatusCode, Message = e.Status.Detail };
    }

    /// <summary>INVALID_ARGUMENT whose BadRequest names exactly these fields (in any order).</summary>
    public static async Task<BadRequest> InvalidAsync(Func<Task> call, params string[] fields)
    {
        Google.Rpc.Status status = await FailsAsync(StatusCode.InvalidArgument, call);
        BadRequest? badRequest = status.GetDetail<BadRequest>();
        Assert.NotNull(badRequest);
        Assert.Equal(fields.Order(StringComparer.Ordinal), badRequest.FieldViolations.Select(v => v.Field).Order(StringComparer.Ordinal));
        Assert.All(badRequest.FieldViolations, v => Assert.False(string.IsNullOrEmpty(v.Description)));
        return badRequest;
    }
}
