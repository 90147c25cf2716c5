using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Grpc.Health.V1;
using RtUdp.Daemon.Tests.Api;
using RtUdp.Daemon.Tests.Ctl;
using RtUdp.Daemon.Tests.Metrics;
using RtUdp.V1;
using static Tmds.Linux.LibC;

namespace RtUdp.Daemon.Tests.Reliability;

/// <summary>
/// A wedged engine (SIGSTOP) against the real daemon without systemd: health, GetEngine, /metrics and rtudpctl
/// say so within the stall bound, and rtudpd restarts it after the longer bound. Each test runs a daemon of its own.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EngineStallTests
{
    private static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(1);

    private static Task<OwnedDaemon> StartAsync(TimeSpan restartAfter) => OwnedDaemon.StartAsync(new Dictionary<string, string>
    {
        ["Engine:StallTimeout"] = $"{StallTimeout.TotalMilliseconds}ms",
        ["Engine:StallRestartTimeout"] = $"{restartAfter.TotalMilliseconds}ms",
    });

    [Fact]
    public async Task A_stopped_engine_is_not_serving_within_the_bound_and_restarted_after_the_longer_one_with_its_channels_and_loss_counted()
    {
        // Long enough for two rtudpctl runs (process starts) under a loaded CI machine while it is stalled.
        TimeSpan restartAfter = TimeSpan.FromSeconds(10);
        await using OwnedDaemon daemon = await StartAsync(restartAfter);
        var health = new Health.HealthClient(daemon.Fixture.Unix);
        var engines = new EngineService.EngineServiceClient(daemon.Fixture.Unix);
        Clients api = daemon.Unix;
        Channel rx = await api.CreateReceiverAsync(Clients.UniqueId("stall-rx"));
        using (var sender = new UdpClient())
        {
            for (int i = 0; i < 3; i++)
            {
                sender.Send(new byte[16], 16, new IPEndPoint(IPAddress.Loopback, (int)rx.BoundLocal.Port));
            }
        }
        await api.WaitStatsAsync(rx.Name, s => s.Rx.Received == 3);
        GetEngineResponse before = await engines.GetEngineAsync(new GetEngineRequest());
        Assert.Equal(EngineState.Running, before.State);
        Assert.Equal(StallTimeout, before.StallTimeout.ToTimeSpan());
        Assert.Equal(restartAfter, before.StallRestartTimeout.ToTimeSpan());
        Assert.Null(before.WatchdogTimeout);

        int engine = daemon.Fixture.EnginePid;
        var stopped = Stopwatch.StartNew();
        Assert.Equal(0, kill(engine, SIGSTOP));
        try
        {
            await Wait.UntilAsync(async () => (await health.CheckAsync(new HealthCheckRequest())).Status == HealthCheckResponse.Types.ServingStatus.NotServing,
                StallTimeout + TimeSpan.FromSeconds(2), () => $"health NOT_SERVING after the stop\n{daemon.Log}", TimeSpan.FromMilliseconds(20));
            TimeSpan notServingAfter = stopped.Elapsed;
            Assert.True(notServingAfter >= StallTimeout - TimeSpan.FromMilliseconds(150), $"NOT_SERVING {notServingAfter} after the stop, before the bound");

            // Everyone agrees, and names what stalled (each part once its own heartbeat is past the bound).
            string rxId = rx.Name["channels/".Length..];
            GetEngineResponse stall = null!;
            await Wait.UntilAsync(async () => (stall = await engines.GetEngineAsync(new GetEngineRequest())).Stalled.Count == 2, TimeSpan.FromSeconds(1), () => $"conductor and receive worker stalled: {stall}");
            Assert.Equal(EngineState.Stalled, stall.State);
            Assert.Equal(engine, stall.Pid);
            Assert.Contains(stall.Stalled, p => p.Name == "conductor" && p.Age.ToTimeSpan() > StallTimeout);
            Assert.Contains(stall.Stalled, p => p.Channel == rx.Name && p.Worker == "receive" && p.Name.EndsWith($"'{rxId}' receive worker", StringComparison.Ordinal));
            Assert.StartsWith($"engine {engine} stalled: ", stall.Reason, StringComparison.Ordinal);

            Exposition metrics = await Exposition.ScrapeAsync(daemon.Fixture.HttpAddress);
            Assert.Equal(1, metrics.Value("rtudp_engine_stalled"));
            Assert.Equal(0, metrics.Value("rtudp_engine_up"));
            Assert.True(metrics.Value("rtudp_engine_heartbeat_age_seconds") > StallTimeout.TotalSeconds);

            CtlProcess.Result ctl = await CtlProcess.RunAsync(CtlProcess.Rtudpctl, ["health", "--socket", daemon.Fixture.SocketPath]);
            Assert.True(ctl.Exit == 1, ctl.ToString());
            Assert.Contains("NOT_SERVING", ctl.Stdout, StringComparison.Ordinal);
            Assert.Contains($"'{rxId}' receive worker (no heartbeat for", ctl.Stdout, StringComparison.Ordinal);
            Assert.Contains($"rtudpd restarts the engine after {restartAfter.TotalSeconds} s", ctl.Stdout, StringComparison.Ordinal);
            CtlProcess.Result json = await CtlProcess.RunAsync(CtlProcess.Rtudpctl, ["health", "--json", "--socket", daemon.Fixture.SocketPath]);
            Assert.True(json.Exit == 1, json.ToString());
            using (var document = System.Text.Json.JsonDocument.Parse(json.Stdout))
            {
                Assert.Equal("NOT_SERVING", document.RootElement.GetProperty("status").GetString());
                Assert.Equal("stalled", document.RootElement.GetProperty("engine_state").GetString());
                Assert.Contains(document.RootElement.GetProperty("stalled").EnumerateArray(), p => p.GetProperty("worker").GetString() == "receive" && p.GetProperty("channel").GetString() == rx.Name);
            }

            // After the longer bound rtudpd kills it and starts a new engine, as after a crash.
            int restarted = await daemon.Fixture.WaitForEngineAsync(TimeSpan.FromSeconds(60), restarts: 1);
            Assert.True(stopped.Elapsed >= restartAfter, $"restarted {stopped.Elapsed} after the stop, before the restart bound");
            Assert.NotEqual(engine, restarted);
            Assert.False(Directory.Exists($"/proc/{engine}"), "the stalled engine was killed");
        }
        finally
        {
            _ = kill(engine, SIGCONT);
        }
        await daemon.Fixture.WaitForLogAsync(new System.Text.RegularExpressions.Regex($"engine {engine} stalled: .*killing the engine for a restart"), TimeSpan.FromSeconds(10), "the stall kill logged");
        await api.WaitStatsAsync(rx.Name, s => s.State == V1.ChannelState.Running, TimeSpan.FromSeconds(30));
        await Wait.UntilAsync(async () => (await health.CheckAsync(new HealthCheckRequest())).Status == HealthCheckResponse.Types.ServingStatus.Serving,
            TimeSpan.FromSeconds(30), () => $"health SERVING after the restart\n{daemon.Log}");
        GetEngineResponse after = await engines.GetEngineAsync(new GetEngineRequest());
        Assert.Equal(EngineState.Running, after.State);
        Assert.Equal(1, after.Restarts);
        Assert.Equal(1, after.StallRestarts);
        Assert.Equal(3, after.LostRxPackets);
        Exposition healed = await Exposition.ScrapeAsync(daemon.Fixture.HttpAddress);
        Assert.Equal(1, healed.Value("rtudp_engine_up"));
        Assert.Equal(0, healed.Value("rtudp_engine_stalled"));
        Assert.Equal(1, healed.Value("rtudp_engine_stall_restarts_total"));
        Assert.Equal(3, healed.Value("rtudp_engine_lost_packets_total", ("direction", "rx")));
        (int exit, string output) = await healed.PromtoolCheckAsync();
        Assert.True(exit == 0 && output.Length == 0, output);
    }

    [Fact]
    public async Task An_engine_resumed_before_the_restart_bound_serves_again_and_is_not_restarted()
    {
        TimeSpan restartAfter = TimeSpan.FromSeconds(6);
        await using OwnedDaemon daemon = await StartAsync(restartAfter);
        var health = new Health.HealthClient(daemon.Fixture.Unix);
        var engines = new EngineService.EngineServiceClient(daemon.Fixture.Unix);
        _ = await daemon.Unix.CreateReceiverAsync(Clients.UniqueId("resume-rx"));
        int engine = daemon.Fixture.EnginePid;
        var stopped = Stopwatch.StartNew();
        Assert.Equal(0, kill(engine, SIGSTOP));
        try
        {
            await Wait.UntilAsync(async () => (await health.CheckAsync(new HealthCheckRequest())).Status == HealthCheckResponse.Types.ServingStatus.NotServing,
                StallTimeout + TimeSpan.FromSeconds(2), () => $"health NOT_SERVING after the stop\n{daemon.Log}", TimeSpan.FromMilliseconds(20));
        }
        finally
        {
            Assert.Equal(0, kill(engine, SIGCONT));
        }
        Assert.True(stopped.Elapsed < restartAfter, "resumed too late for this test: the machine is too slow");
        await Wait.UntilAsync(async () => (await health.CheckAsync(new HealthCheckRequest())).Status == HealthCheckResponse.Types.ServingStatus.Serving,
            TimeSpan.FromSeconds(5), () => $"health SERVING after SIGCONT\n{daemon.Log}");
        await daemon.Fixture.WaitForLogAsync(new System.Text.RegularExpressions.Regex($"Engine {engine} advancing again"), TimeSpan.FromSeconds(5), "the recovery logged");
        // Past the restart bound, counted from the stop: the same engine, never restarted.
        while (stopped.Elapsed < restartAfter + TimeSpan.FromSeconds(1))
        {
            GetEngineResponse now = await engines.GetEngineAsync(new GetEngineRequest());
            Assert.Equal((EngineState.Running, engine, 0), (now.State, now.Pid, now.Restarts));
            await Task.Delay(100);
        }
        Assert.DoesNotContain("killing the engine", daemon.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_idle_engine_with_idle_channels_is_never_called_stalled()
    {
        await using OwnedDaemon daemon = await StartAsync(TimeSpan.FromSeconds(3));
        var health = new Health.HealthClient(daemon.Fixture.Unix);
        var engines = new EngineService.EngineServiceClient(daemon.Fixture.Unix);
        Channel rx = await daemon.Unix.CreateReceiverAsync(Clients.UniqueId("idle-rx"));
        _ = await daemon.Unix.CreateSenderAsync(Clients.UniqueId("idle-tx"), rx.BoundLocal);
        _ = await daemon.Unix.CreateSenderAsync(Clients.UniqueId("idle-sleep-tx"), rx.BoundLocal, configure: c => c.Timing = TimingStrategy.Sleep);
        // Nothing is sent or received for three health bounds.
        var idle = Stopwatch.StartNew();
        int looks = 0;
        while (idle.Elapsed < StallTimeout * 3)
        {
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
            GetEngineResponse engine = await engines.GetEngineAsync(new GetEngineRequest());
            Assert.True(engine.State == EngineState.Running && engine.Stalled.Count == 0, engine.ToString());
            looks++;
            await Task.Delay(50);
        }
        Exposition metrics = await Exposition.ScrapeAsync(daemon.Fixture.HttpAddress);
        Assert.Equal(0, metrics.Value("rtudp_engine_stalled"));
        Assert.Equal(1, metrics.Value("rtudp_engine_up"));
        Assert.True(looks > 10, $"{looks} looks");
        Assert.DoesNotContain(" stalled: ", daemon.Log, StringComparison.Ordinal);
    }
}
