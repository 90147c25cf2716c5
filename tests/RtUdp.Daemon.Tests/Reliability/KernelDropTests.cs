using System.Globalization;
using System.Net;
using System.Text.Json;
using RtUdp.Daemon.Tests.Api;
using RtUdp.Daemon.Tests.Ctl;
using RtUdp.Daemon.Tests.Metrics;
using RtUdp.Testing;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Reliability;

/// <summary>
/// A receiving channel of the real daemon with a tiny socket buffer, flooded on loopback from a plain socket
/// until the kernel drops datagrams at it: GetStats, its JSON transcoding, /metrics and <c>rtudpctl stats --json</c>
/// all carry the engine's count, which is the kernel's (/proc/net/udp), and every datagram sent is received or
/// counted as dropped by the kernel.
/// </summary>
[Collection(DaemonCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class KernelDropTests(DaemonFixture daemon, Xunit.Abstractions.ITestOutputHelper log)
{
    private readonly Clients _api = new(daemon.Tcp);

    [Fact]
    public async Task Kernel_drops_at_a_flooded_receiver_show_alike_in_stats_json_metrics_and_rtudpctl()
    {
        string id = Clients.UniqueId("kdrop");
        Channel rx = (await _api.Channels.CreateChannelAsync(new CreateChannelRequest
        {
            ChannelId = id,
            Start = true,
            Channel = new Channel
            {
                Direction = ChannelDirection.Receive,
                Local = new Endpoint { Address = "127.0.0.1", Port = 0 },
                Capacity = 1024,
                MaxPayload = 256,
                Priority = 0,
                // SO_RCVBUF 4 KiB (doubled by the kernel) and one datagram per recvmmsg: a burst overruns it.
                SocketBufferBytes = 4096,
                BatchSize = 1,
            },
        })).Channel;
        var bound = new IPEndPoint(IPAddress.Parse(rx.BoundLocal.Address), (int)rx.BoundLocal.Port);
        try
        {
            long sent = UdpFlood.UntilKernelDrops(bound, TimeSpan.FromSeconds(30));

            // The worker's idle read catches drops after the last datagram it read.
            V1.ChannelStats stats = await _api.WaitStatsAsync(
                rx.Name,
                s => s.Rx.Received + s.Rx.DroppedKernel == sent && s.Rx.DroppedKernel == ProcNetUdp.Drops(bound),
                TimeSpan.FromSeconds(10));
            long dropped = stats.Rx.DroppedKernel;
            log.WriteLine($"sent {sent}, received {stats.Rx.Received}, dropped by the kernel {dropped}");
            Assert.True(dropped > 0);
            Assert.Equal(dropped, stats.Counters["rx_dropped_kernel"]);
            // Outside the receive sum: the books balance on what the engine read.
            Assert.Equal(0, DaemonAccounting.RxUncounted(stats.Rx));
            Assert.True(stats.Rx.Balanced);

            // JSON transcoding.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            using JsonDocument json = JsonDocument.Parse(await http.GetStringAsync(new Uri(daemon.HttpAddress, $"/v1/channels/{id}/stats")));
            Assert.Equal(dropped, Int64(json.RootElement.GetProperty("stats").GetProperty("rx").GetProperty("droppedKernel")));

            // Prometheus.
            Exposition metrics = await Exposition.ScrapeAsync(daemon.HttpAddress);
            Assert.Equal(dropped, metrics.Value("rtudp_rx_dropped_packets_total", ("channel", id), ("reason", "kernel_queue")));
            Assert.Equal(stats.Rx.Received, metrics.Value("rtudp_rx_received_packets_total", ("channel", id)));

            // rtudpctl.
            CtlProcess.Result ctl = await CtlProcess.RunAsync(CtlProcess.Rtudpctl, ["stats", id, "--json", "--socket", daemon.SocketPath]);
            Assert.True(ctl.Exit == 0, ctl.ToString());
            using JsonDocument ctlJson = JsonDocument.Parse(ctl.Stdout);
            Assert.Equal(dropped, Int64(ctlJson.RootElement.GetProperty("rx").GetProperty("droppedKernel")));
            Assert.Equal(dropped, Int64(ctlJson.RootElement.GetProperty("counters").GetProperty("rx_dropped_kernel")));
            CtlProcess.Result text = await CtlProcess.RunAsync(CtlProcess.Rtudpctl, ["stats", id, "--socket", daemon.SocketPath]);
            Assert.True(text.Exit == 0, text.ToString());
            Assert.Contains($"dropped by the kernel before the engine read them (outside received): {dropped}", text.Stdout, StringComparison.Ordinal);

            await DaemonAccounting.AssertBalancedAsync(_api, rx.Name);
        }
        finally
        {
            DeleteChannelResponse deleted = await _api.Channels.DeleteChannelAsync(new DeleteChannelRequest { Name = rx.Name });
            DaemonAccounting.AssertFinalBalanced(deleted);
        }
    }

    /// <summary>The proto3 JSON mapping writes 64-bit integers as strings.</summary>
    private static long Int64(JsonElement value) => value.ValueKind == JsonValueKind.String ? long.Parse(value.GetString()!, CultureInfo.InvariantCulture) : value.GetInt64();
}
