using System.Diagnostics;
using RtUdp.Daemon.Tests.Api;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Metrics;

/// <summary>/metrics across an engine crash and without an engine: each test runs a daemon of its own.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class MetricsEngineRestartTests
{
    [Fact]
    public async Task After_an_engine_restart_the_counters_start_again_with_the_new_memory_and_the_restart_is_counted()
    {
        DaemonFixture daemon = DaemonFixture.Create();
        try
        {
            await daemon.InitializeAsync();
            var api = new Clients(daemon.Unix);
            // The receiver on a port of its own choosing, so that the engine restored after the crash binds it again.
            int port;
            using (var probe = new System.Net.Sockets.UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0)))
            {
                port = ((System.Net.IPEndPoint)probe.Client.LocalEndPoint!).Port;
            }
            Channel rx = (await api.Channels.CreateChannelAsync(new CreateChannelRequest
            {
                ChannelId = Clients.UniqueId("restart-rx"),
                Start = true,
                Channel = new Channel { Direction = ChannelDirection.Receive, Local = new Endpoint { Address = "127.0.0.1", Port = (uint)port }, Capacity = 1024, MaxPayload = 2048, Priority = 0 },
            })).Channel;
            Channel tx = await api.CreateSenderAsync(Clients.UniqueId("restart-tx"), rx.BoundLocal);
            await Traffic.SendAndDrainAsync(api, tx, rx, 30);
            (string, string) T = ("channel", tx.Name["channels/".Length..]);
            Exposition before = await Exposition.ScrapeAsync(daemon.HttpAddress);
            Assert.Equal(30, before.Value("rtudp_tx_sent_packets_total", T));
            Assert.Equal(0, before.Value("rtudp_engine_restarts_total"));

            int pid = daemon.EnginePid;
            using (var engine = Process.GetProcessById(pid))
            {
                engine.Kill();
            }
            await daemon.WaitForEngineAsync(TimeSpan.FromSeconds(30), restarts: 1);
            await api.WaitStatsAsync(tx.Name, s => s.State == V1.ChannelState.Running, TimeSpan.FromSeconds(30));
            await api.WaitStatsAsync(rx.Name, s => s.State == V1.ChannelState.Running, TimeSpan.FromSeconds(30));
            await Traffic.SendAndDrainAsync(api, tx, rx, 5);

            V1.ChannelStats stats = (await api.Stats.GetStatsAsync(new GetStatsRequest { Name = tx.Name })).Stats;
            Exposition after = await Exposition.ScrapeAsync(daemon.HttpAddress);
            Assert.Equal(5, stats.Tx.Sent);
            Assert.Equal(stats.Tx.Sent, after.Value("rtudp_tx_sent_packets_total", T));
            Assert.Equal(stats.Tx.Enqueued, after.Value("rtudp_tx_enqueued_packets_total", T));
            Assert.Equal(stats.SendErrorCount, after.Value("rtudp_tx_send_error_seconds_count", T));
            Assert.Equal(1, after.Value("rtudp_engine_restarts_total"));
            Assert.Equal(1, after.Value("rtudp_engine_up"));
            Assert.Equal(1, after.Value("rtudp_channel_attached", T));
            (int exit, string output) = await after.PromtoolCheckAsync();
            Assert.True(exit == 0 && output.Length == 0, output);
        }
        finally
        {
            await daemon.DisposeAsync();
        }
    }

    [Fact]
    public async Task Without_an_engine_it_is_reported_down_and_the_exposition_stays_valid()
    {
        DaemonFixture daemon = DaemonFixture.Create(withEngine: false);
        try
        {
            await daemon.InitializeAsync();
            Exposition metrics = await Exposition.ScrapeAsync(daemon.HttpAddress);
            Assert.Equal(0, metrics.Value("rtudp_engine_up"));
            Assert.True(double.IsNaN(metrics.Value("rtudp_engine_heartbeat_age_seconds")));
            Assert.Empty(metrics.Find("rtudp_engine_gc_collections_total"));
            (int exit, string output) = await metrics.PromtoolCheckAsync();
            Assert.True(exit == 0 && output.Length == 0, output);
        }
        finally
        {
            await daemon.DisposeAsync();
        }
    }
}
