using System.Net;
using System.Text.Json;
using Google.Protobuf;
using RtUdp.Core.Native;
using RtUdp.Daemon.Tests.Api;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Metrics;

/// <summary>The read-only calls as JSON over HTTP/1.1 (gRPC JSON transcoding) answer what the gRPC calls answer.</summary>
[Collection(DaemonCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class JsonApiTests(DaemonFixture daemon) : IDisposable
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));

    private readonly Clients _api = new(daemon.Tcp);
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private async Task<(HttpStatusCode Status, string Body)> GetAsync(string path)
    {
        using HttpResponseMessage response = await _http.GetAsync(new Uri(daemon.HttpAddress, path));
        Assert.Equal(HttpVersion.Version11, response.Version);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<T> GetJsonAsync<T>(string path)
        where T : IMessage<T>, new()
    {
        (HttpStatusCode status, string body) = await GetAsync(path);
        Assert.True(status == HttpStatusCode.OK, $"GET {path}: {(int)status} {body}");
        return Parser.Parse<T>(body);
    }

    [Fact]
    public async Task Channels_stats_and_histograms_as_JSON_equal_the_gRPC_answers()
    {
        (Channel tx, Channel rx) = await Traffic.RunAsync(_api, "json", 50);
        string id = tx.Name["channels/".Length..];

        GetChannelResponse channel = await GetJsonAsync<GetChannelResponse>($"/v1/channels/{id}");
        Assert.Equal(await _api.Channels.GetChannelAsync(new GetChannelRequest { Name = tx.Name }), channel);

        ListChannelsResponse list = await GetJsonAsync<ListChannelsResponse>("/v1/channels");
        Assert.Equal(await _api.Channels.ListChannelsAsync(new ListChannelsRequest()), list);
        Assert.Contains(list.Channels, c => c.Name == tx.Name);
        ListChannelsResponse page = await GetJsonAsync<ListChannelsResponse>("/v1/channels?page_size=1");
        Assert.Equal(await _api.Channels.ListChannelsAsync(new ListChannelsRequest { PageSize = 1 }), page);

        // The channels are quiet: everything but the read time and the idle worker's beats and parks is the same.
        GetStatsResponse stats = await GetJsonAsync<GetStatsResponse>($"/v1/channels/{id}/stats");
        GetStatsResponse grpcStats = await _api.Stats.GetStatsAsync(new GetStatsRequest { Name = tx.Name });
        Assert.InRange(stats.Stats.ReadMonotonicNs, 1, grpcStats.Stats.ReadMonotonicNs);
        foreach (V1.ChannelStats s in new[] { stats.Stats, grpcStats.Stats })
        {
            s.ReadMonotonicNs = 0;
            s.Sender.Heartbeat = s.Sender.HeartbeatMonotonicNs = 0;
            s.Counters.Remove("send_waits");
        }
        Assert.Equal(grpcStats, stats);
        Assert.Equal(50, stats.Stats.Tx.Sent);

        GetHistogramResponse histogram = await GetJsonAsync<GetHistogramResponse>($"/v1/channels/{id}/histograms/HISTOGRAM_KIND_SEND_ERROR?percentiles=50&percentiles=99.9");
        Assert.Equal(await _api.Stats.GetHistogramAsync(new GetHistogramRequest { Name = tx.Name, Kind = HistogramKind.SendError, Percentiles = { 50, 99.9 } }), histogram);
        Assert.Equal(50, histogram.Histogram.TotalCount);
        GetHistogramResponse delivery = await GetJsonAsync<GetHistogramResponse>($"/v1/channels/{rx.Name["channels/".Length..]}/histograms/HISTOGRAM_KIND_DELIVERY");
        Assert.Equal(await _api.Stats.GetHistogramAsync(new GetHistogramRequest { Name = rx.Name, Kind = HistogramKind.Delivery }), delivery);

        // 64-bit integers are strings, as in proto3's JSON mapping.
        (_, string raw) = await GetAsync($"/v1/channels/{id}/stats");
        using JsonDocument doc = JsonDocument.Parse(raw);
        Assert.Equal(JsonValueKind.String, doc.RootElement.GetProperty("stats").GetProperty("tx").GetProperty("sent").ValueKind);
        await _api.DeleteAsync(tx, rx);
    }

    [Fact]
    public async Task Capabilities_clock_and_engine_as_JSON_equal_the_gRPC_answers()
    {
        GetEngineResponse engine = await GetJsonAsync<GetEngineResponse>("/v1/engine");
        Assert.Equal(await new EngineService.EngineServiceClient(daemon.Unix).GetEngineAsync(new GetEngineRequest()), engine);
        Assert.Equal(EngineState.Running, engine.State);

        GetCapabilitiesResponse caps = await GetJsonAsync<GetCapabilitiesResponse>("/v1/capabilities");
        Assert.Equal(await _api.Capabilities.GetCapabilitiesAsync(new GetCapabilitiesRequest()), caps);

        GetClockResponse before = await _api.Clock.GetClockAsync(new GetClockRequest());
        GetClockResponse clock = await GetJsonAsync<GetClockResponse>("/v1/clock");
        long after = Libc.MonotonicNow();
        Assert.InRange(clock.MonotonicNs, before.MonotonicNs, after);
        Assert.Equal(before.TaiOffsetSeconds, clock.TaiOffsetSeconds);
        Assert.Equal(before.ClockState, clock.ClockState);
    }

    [Fact]
    public async Task Errors_are_JSON_statuses_and_nothing_mutates()
    {
        (HttpStatusCode status, string body) = await GetAsync("/v1/channels/no-such-channel");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Google.Rpc.Status error = new JsonParser(JsonParser.Settings.Default.WithTypeRegistry(Google.Protobuf.Reflection.TypeRegistry.FromFiles(Google.Rpc.ErrorDetailsReflection.Descriptor))).Parse<Google.Rpc.Status>(body);
        Assert.Equal((int)Grpc.Core.StatusCode.NotFound, error.Code);
        Assert.Contains("no-such-channel", error.Message, StringComparison.Ordinal);

        (status, body) = await GetAsync("/v1/channels/x/histograms/HISTOGRAM_KIND_NOPE");
        Assert.True(status == HttpStatusCode.BadRequest, $"{(int)status} {body}");

        // Only GETs are routed: creating, deleting, starting or sending over HTTP finds nothing.
        Channel rx = await _api.CreateReceiverAsync(Clients.UniqueId("json-ro"), start: false);
        string id = rx.Name["channels/".Length..];
        foreach ((HttpMethod method, string path) in new[]
        {
            (HttpMethod.Post, "/v1/channels"),
            (HttpMethod.Delete, $"/v1/channels/{id}"),
            (HttpMethod.Post, $"/v1/channels/{id}:start"),
            (HttpMethod.Post, $"/v1/channels/{id}/packets"),
            (HttpMethod.Post, "/rtudp.v1.ChannelService/DeleteChannel"),
        })
        {
            using var request = new HttpRequestMessage(method, new Uri(daemon.HttpAddress, path)) { Content = new StringContent($"{{\"name\":\"{rx.Name}\"}}", System.Text.Encoding.UTF8, "application/json") };
            using HttpResponseMessage response = await _http.SendAsync(request);
            Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed, $"{method} {path}: {(int)response.StatusCode}");
        }
        Channel still = (await _api.Channels.GetChannelAsync(new GetChannelRequest { Name = rx.Name })).Channel;
        Assert.Equal(V1.ChannelState.Created, still.State);
        await _api.DeleteAsync(rx);
    }

    public void Dispose() => _http.Dispose();
}
