using System.Globalization;
using System.Net;
using RtUdp.Daemon.Tests.Api;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Metrics;

/// <summary>/metrics of the real daemon after real packets: the same numbers as GetStats, and a clean promtool check.</summary>
[Collection(DaemonCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class MetricsEndpointTests(DaemonFixture daemon)
{
    private readonly Clients _api = new(daemon.Tcp);

    [Fact]
    public async Task Counters_and_histogram_counts_equal_GetStats_and_promtool_finds_nothing()
    {
        const int Count = 200;
        (Channel tx, Channel rx) = await Traffic.RunAsync(_api, "prom", Count);
        V1.ChannelStats txStats = (await _api.Stats.GetStatsAsync(new GetStatsRequest { Name = tx.Name })).Stats;
        V1.ChannelStats rxStats = (await _api.Stats.GetStatsAsync(new GetStatsRequest { Name = rx.Name })).Stats;
        Exposition metrics = await Exposition.ScrapeAsync(daemon.HttpAddress);

        (string, string) T = ("channel", tx.Name["channels/".Length..]);
        (string, string) R = ("channel", rx.Name["channels/".Length..]);
        Assert.Equal(tx.EngineId.ToString(CultureInfo.InvariantCulture), metrics.Find("rtudp_tx_sent_packets_total", T).Single().Labels["engine_id"]);
        Assert.Equal(Count, txStats.Tx.Enqueued);
        Assert.Equal(txStats.Tx.Enqueued, metrics.Value("rtudp_tx_enqueued_packets_total", T));
        Assert.Equal(txStats.Tx.Sent, metrics.Value("rtudp_tx_sent_packets_total", T));
        Assert.Equal(txStats.Tx.RejectedFull, metrics.Value("rtudp_tx_rejected_packets_total", T));
        Assert.Equal(txStats.Tx.DroppedLate, metrics.Value("rtudp_tx_dropped_packets_total", T, ("reason", "late")));
        Assert.Equal(txStats.Tx.DroppedError, metrics.Value("rtudp_tx_dropped_packets_total", T, ("reason", "error")));
        Assert.Equal(txStats.Tx.DroppedStopped, metrics.Value("rtudp_tx_dropped_packets_total", T, ("reason", "stopped")));
        Assert.Equal(txStats.Tx.Late, metrics.Value("rtudp_tx_late_packets_total", T));
        Assert.Equal(txStats.Tx.Pending, metrics.Value("rtudp_tx_pending_packets", T));
        Assert.Equal(txStats.Counters["send_calls"], metrics.Value("rtudp_tx_send_calls_total", T));
        Assert.Equal(txStats.Counters["tx_stamps_software"], metrics.Value("rtudp_tx_stamps_total", T, ("stage", "software")));
        Assert.Equal(Count, rxStats.Rx.Received);
        Assert.Equal(rxStats.Rx.Received, metrics.Value("rtudp_rx_received_packets_total", R));
        Assert.Equal(rxStats.Rx.Drained, metrics.Value("rtudp_rx_drained_packets_total", R));
        Assert.Equal(rxStats.Rx.DroppedOverflow, metrics.Value("rtudp_rx_dropped_packets_total", R, ("reason", "overflow")));
        Assert.Equal(rxStats.Rx.DroppedTruncated, metrics.Value("rtudp_rx_dropped_packets_total", R, ("reason", "truncated")));
        Assert.Equal(rxStats.Rx.Buffered, metrics.Value("rtudp_rx_buffered_packets", R));

        // Histograms: the Prometheus count is the engine's sample count, +Inf included.
        Assert.Equal(txStats.SendErrorCount, metrics.Value("rtudp_tx_send_error_seconds_count", T));
        Assert.Equal(txStats.SendErrorCount, metrics.Value("rtudp_tx_send_error_seconds_bucket", T, ("le", "+Inf")));
        Assert.Equal(rxStats.DeliveryCount, metrics.Value("rtudp_rx_delivery_seconds_count", R));
        Histogram wake = (await _api.Stats.GetHistogramAsync(new GetHistogramRequest { Name = tx.Name, Kind = HistogramKind.StageWake })).Histogram;
        Assert.Equal(wake.TotalCount, metrics.Value("rtudp_tx_stage_seconds_count", T, ("stage", "wake")));
        // _sum is the samples' HDR bucket midpoints: within half a bucket (< 1/256) of the exact sum, plus negatives observed at 0.
        Histogram sendError = (await _api.Stats.GetHistogramAsync(new GetHistogramRequest { Name = tx.Name, Kind = HistogramKind.SendError })).Histogram;
        double exactSum = sendError.SumNs / 1e9;
        Assert.InRange(metrics.Value("rtudp_tx_send_error_seconds_sum", T), (exactSum * 0.99) - 1e-9, (sendError.Buckets.Sum(b => (double)b.HighNs * b.Count) / 1e9) + 1e-9);

        // Health and modes as the engine reports them.
        Assert.Equal(1, metrics.Value("rtudp_engine_up"));
        Assert.Equal(1, metrics.Value("rtudp_channel_state", T, ("state", "running")));
        Assert.Equal(1, metrics.Value("rtudp_worker_running", T, ("worker", "send")));
        Assert.InRange(metrics.Value("rtudp_worker_heartbeat_age_seconds", T, ("worker", "send")), 0, 5);
        Assert.Equal(txStats.Sender.RealtimeMode.Contains("Pinned", StringComparison.Ordinal) ? 1 : 0, metrics.Value("rtudp_worker_realtime_mode", T, ("worker", "send"), ("mode", "pinned")));
        Channel txChannel = (await _api.Channels.GetChannelAsync(new GetChannelRequest { Name = tx.Name })).Channel;
        Sample mode = metrics.Find("rtudp_channel_mode_info", T).Single();
        Assert.Equal(txChannel.Mode.Interface, mode.Labels["interface"]);
        Assert.Equal(txChannel.Mode.Timestamps.ToString().ToLowerInvariant(), mode.Labels["timestamps"]);
        Sample path = metrics.Find("rtudp_channel_data_path_info", T).Single();
        Assert.Equal(txChannel.Mode.Gso == GsoState.Trains ? "trains" : "off", path.Labels["gso"]);
        Assert.Equal("timed", path.Labels["traffic"]);
        Assert.Equal("socket", path.Labels["path"]);
        Assert.Equal(0, metrics.Value("rtudp_engine_gc_collections_total", ("generation", "2")));
        Assert.Single(metrics.Find("rtudp_build_info"));
        // The tests run rtudpd as root, which no capability drop can separate; it says so.
        Assert.Equal(0, metrics.Value("rtudp_privilege_separation", ("mode", "root")));

        (int exit, string output) = await metrics.PromtoolCheckAsync();
        Assert.True(exit == 0 && output.Length == 0, $"promtool check metrics: exit {exit}:\n{output}");

        // A deleted channel's series go with it.
        await _api.DeleteAsync(tx, rx);
        Exposition after = await Exposition.ScrapeAsync(daemon.HttpAddress);
        Assert.DoesNotContain(after.Samples, s => s.Labels.TryGetValue("channel", out string? c) && (c == T.Item2 || c == R.Item2));
    }

    [Fact]
    public async Task Flow_histograms_and_generator_counters_count_what_a_sequenced_generator_sent()
    {
        const int Count = 100;
        var generators = new GeneratorService.GeneratorServiceClient(daemon.Tcp);
        Channel rx = (await _api.Channels.CreateChannelAsync(new CreateChannelRequest
        {
            ChannelId = Clients.UniqueId("prom-flow-rx"), Start = true,
            Channel = new Channel { Direction = ChannelDirection.Receive, Local = new Endpoint { Address = "127.0.0.1" }, Priority = 0, Capacity = 1024, Flags = { ChannelFlag.Sequenced } },
        })).Channel;
        Channel tx = await _api.CreateSenderAsync(Clients.UniqueId("prom-flow-tx"), rx.BoundLocal, configure: c => c.Flags.Add(ChannelFlag.Sequenced));
        Generator started = (await generators.StartGeneratorAsync(new StartGeneratorRequest
        {
            Parent = tx.Name, GeneratorId = "flow",
            Spec = new GeneratorSpec { Periodic = new PeriodicSchedule { Period = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromMilliseconds(1)) }, Count = Count },
        })).Generator;
        V1.ChannelStats rxStats = await _api.WaitStatsAsync(rx.Name, s => s.FlowTotals?.Packets >= Count);
        Assert.Equal(Count, rxStats.FlowTotals.Packets);
        Assert.Equal(0, rxStats.FlowTotals.Lost);
        Histogram oneWay = (await _api.Stats.GetHistogramAsync(new GetHistogramRequest { Name = rx.Name, Kind = HistogramKind.OneWay })).Histogram;
        Histogram jitter = (await _api.Stats.GetHistogramAsync(new GetHistogramRequest { Name = rx.Name, Kind = HistogramKind.Jitter })).Histogram;
        Exposition metrics = await Exposition.ScrapeAsync(daemon.HttpAddress);

        (string, string) R = ("channel", rx.Name["channels/".Length..]);
        (string, string) T = ("channel", tx.Name["channels/".Length..]);
        // Same host, CLOCK_MONOTONIC: one one-way sample and one jitter sample per packet.
        Assert.Equal(Count, oneWay.TotalCount);
        Assert.Equal(Count, metrics.Value("rtudp_flow_one_way_seconds_count", R));
        Assert.Equal(Count, metrics.Value("rtudp_flow_one_way_seconds_bucket", R, ("le", "+Inf")));
        Assert.Equal(jitter.TotalCount, metrics.Value("rtudp_flow_jitter_seconds_count", R));
        Assert.Equal(0, metrics.Value("rtudp_flow_round_trip_seconds_count", R));
        Assert.Empty(metrics.Find("rtudp_flow_one_way_seconds_count", T));

        Generator done = (await generators.GetGeneratorAsync(new GetGeneratorRequest { Name = started.Name })).Generator;
        Assert.Equal(GeneratorState.Completed, done.State);
        (string, string) G = ("generator", "flow");
        Assert.Equal(Count, metrics.Value("rtudp_generator_packets_total", T, G, ("outcome", "enqueued")));
        Assert.Equal(done.Counters.EnqueuedLate, metrics.Value("rtudp_generator_packets_total", T, G, ("outcome", "enqueued_late")));
        Assert.Equal(0, metrics.Value("rtudp_generator_packets_total", T, G, ("outcome", "rejected_not_accepting")));
        Assert.Equal(done.Counters.FullWaits, metrics.Value("rtudp_generator_full_waits_total", T, G));

        (int exit, string output) = await metrics.PromtoolCheckAsync();
        Assert.True(exit == 0 && output.Length == 0, $"promtool check metrics: exit {exit}:\n{output}");
        await _api.DeleteAsync(tx, rx);
    }

    [Fact]
    public async Task Every_engine_counter_of_a_channel_is_exported_except_those_behind_the_gauges()
    {
        Channel rx = await _api.CreateReceiverAsync(Clients.UniqueId("every-rx"));
        Exposition metrics = await Exposition.ScrapeAsync(daemon.HttpAddress);
        (string, string) R = ("channel", rx.Name["channels/".Length..]);
        foreach (Core.Contract.Channels.ChannelCounter counter in Enum.GetValues<Core.Contract.Channels.ChannelCounter>())
        {
            if (RtUdp.Daemon.Metrics.ChannelCounterMetrics.For(counter) is not { } m)
            {
                Assert.Contains(counter, RtUdp.Daemon.Metrics.ChannelCounterMetrics.Internal);
                continue;
            }
            (string, string)[] labels = m.LabelValue is null ? [R] : [R, (m.Metric.LabelName!, m.LabelValue)];
            Assert.True(metrics.Find(m.Metric.Name, labels).Count() == 1, $"{counter}: no {m.Metric.Name} series for {R.Item2}");
        }
        Assert.All(metrics.Types.Where(t => t.Value == "counter"), t => Assert.EndsWith("_total", t.Key, StringComparison.Ordinal));
        await _api.DeleteAsync(rx);
    }

    [Fact]
    public async Task Metrics_and_JSON_answer_only_on_the_HTTP_listener_and_gRPC_only_on_its_own()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(daemon.HttpAddress, "/metrics"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(daemon.HttpAddress, "/v1/clock"))).StatusCode);

        // The gRPC TCP listener (HTTP/2, prior knowledge) has neither.
        using var h2 = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact, Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal(HttpStatusCode.NotFound, (await h2.GetAsync(new Uri(daemon.TcpAddress, "/metrics"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await h2.GetAsync(new Uri(daemon.TcpAddress, "/v1/clock"))).StatusCode);

        // And the HTTP listener serves no gRPC method.
        using var grpcOverHttp1 = new HttpRequestMessage(HttpMethod.Post, new Uri(daemon.HttpAddress, "/rtudp.v1.ClockService/GetClock")) { Content = new ByteArrayContent([0, 0, 0, 0, 0]) };
        grpcOverHttp1.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(grpcOverHttp1)).StatusCode);
    }
}
