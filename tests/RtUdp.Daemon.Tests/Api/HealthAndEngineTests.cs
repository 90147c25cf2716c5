using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Api;

/// <summary>Health, reflection and the engine going away: each test runs a daemon of its own.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HealthAndEngineTests
{
    [Fact]
    public async Task Health_goes_not_serving_while_the_engine_is_down_and_serving_again_after_its_restart()
    {
        await using var daemon = await OwnedDaemon.StartAsync();
        var health = new Health.HealthClient(daemon.Fixture.Unix);
        Clients api = daemon.Unix;
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = "rtudp.v1.PacketService" })).Status);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => health.CheckAsync(new HealthCheckRequest { Service = "no.such.Service" }).ResponseAsync);

        Channel rx = await api.CreateReceiverAsync("before-crash");

        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using AsyncServerStreamingCall<HealthCheckResponse> watch = health.Watch(new HealthCheckRequest(), cancellationToken: cancel.Token);
        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, watch.ResponseStream.Current.Status);

        // The engine (rtudpd's child) dies as in a crash; the supervisor restarts it.
        int pid = daemon.Fixture.EnginePid;
        using (var engine = Process.GetProcessById(pid))
        {
            engine.Kill();
        }
        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, watch.ResponseStream.Current.Status);
        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, watch.ResponseStream.Current.Status);

        // The supervisor restored the channel (the registry is its catalog): running again, usable.
        DateTime deadline = DateTime.UtcNow.AddSeconds(10);
        Channel restored;
        while ((restored = (await api.Channels.GetChannelAsync(new GetChannelRequest { Name = rx.Name })).Channel).State != ChannelState.Running)
        {
            Assert.True(DateTime.UtcNow < deadline, $"channel not restored: {restored}\n{daemon.Log}");
            await Task.Delay(20);
        }
        Assert.Equal(rx.EngineId, restored.EngineId);
        Assert.NotNull(restored.BoundLocal);
        Assert.Empty((await api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name })).Packets);
        await api.Channels.DeleteChannelAsync(new DeleteChannelRequest { Name = rx.Name });
        Channel again = await api.CreateReceiverAsync("before-crash");
        Assert.Equal(ChannelState.Running, again.State);
        // The supervisor reports one restart and a new engine, its child.
        int restarted = await daemon.Fixture.WaitForEngineAsync(TimeSpan.FromSeconds(10), restarts: 1);
        Assert.NotEqual(pid, restarted);
        Assert.Contains(", 1 restarts,", daemon.Fixture.Status, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_an_engine_health_is_not_serving_and_engine_calls_are_unavailable()
    {
        await using var daemon = await OwnedDaemon.StartAsync(withEngine: false);
        var health = new Health.HealthClient(daemon.Fixture.Tcp);
        Clients api = daemon.Tcp;
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest())).Status);
        Google.Rpc.Status status = await RpcAssert.FailsAsync(StatusCode.Unavailable, () => api.CreateReceiverAsync("no-engine"));
        Assert.NotNull(status.GetDetail<Google.Rpc.RetryInfo>());
        await RpcAssert.FailsAsync(StatusCode.Unavailable, () => api.Capabilities.GetCapabilitiesAsync(new GetCapabilitiesRequest()).ResponseAsync);
        Assert.Empty((await api.Channels.ListChannelsAsync(new ListChannelsRequest())).Channels);
        Assert.NotEqual(0, (await api.Clock.GetClockAsync(new GetClockRequest())).MonotonicNs);
    }

    [Fact]
    public async Task Reflection_lists_every_service()
    {
        await using var daemon = await OwnedDaemon.StartAsync(withEngine: false);
        var reflection = new ServerReflection.ServerReflectionClient(daemon.Fixture.Unix);
        using AsyncDuplexStreamingCall<ServerReflectionRequest, ServerReflectionResponse> call = reflection.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        Assert.True(await call.ResponseStream.MoveNext());
        string[] services = [.. call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name)];
        Assert.Superset(
            new HashSet<string> { "rtudp.v1.ChannelService", "rtudp.v1.PacketService", "rtudp.v1.StatsService", "rtudp.v1.ClockService", "rtudp.v1.CapabilityService", "grpc.health.v1.Health" },
            services.ToHashSet());

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = "rtudp.v1.PacketService" });
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.NotEmpty(call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto);
        await call.RequestStream.CompleteAsync();
    }
}
