using System.Globalization;
using RtUdp.Core.Contract.Stats;
using RtUdp.Daemon.Metrics;
using RtUdp.Daemon.Tests.Api;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Metrics;

/// <summary>A real Prometheus scrapes the real daemon; its histogram_quantile agrees with the engine's own histogram.</summary>
[Collection(DaemonCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PrometheusScrapeTests(DaemonFixture daemon, Xunit.Abstractions.ITestOutputHelper log)
{
    private readonly Clients _api = new(daemon.Tcp);

    [Fact]
    public async Task Prometheus_histogram_quantile_of_send_error_falls_in_the_bucket_of_the_engines_p99()
    {
        (Channel tx, Channel rx) = await Traffic.RunAsync(_api, "promql", 500, spacingNs: 10_000);
        Histogram engine = (await _api.Stats.GetHistogramAsync(new GetHistogramRequest { Name = tx.Name, Kind = HistogramKind.SendError, Percentiles = { 50, 99 } })).Histogram;
        string channel = tx.Name["channels/".Length..];

        await using PrometheusServer prometheus = await PrometheusServer.StartAsync(daemon.HttpAddress, TimeSpan.FromSeconds(60));
        // Scraped once the series holds every sample the engine counted (the channel is quiet by now).
        await prometheus.WaitUntilAsync(
            async () => await prometheus.QueryScalarAsync($"rtudp_tx_send_error_seconds_count{{channel=\"{channel}\"}}") == engine.TotalCount,
            TimeSpan.FromSeconds(60), $"a scrape with {engine.TotalCount} send-error samples");

        foreach (Percentile p in engine.Percentiles)
        {
            double q = p.Percentile_ / 100;
            double? promql = await prometheus.QueryScalarAsync(string.Create(CultureInfo.InvariantCulture, $"histogram_quantile({q}, rtudp_tx_send_error_seconds_bucket{{channel=\"{channel}\"}})"));
            Assert.NotNull(promql);
            (double low, double high) = PrometheusBucketOf(p.ValueNs);
            log.WriteLine($"p{p.Percentile_}: engine {p.ValueNs} ns (HDR bucket {HistogramSnapshot.LowestEquivalentValue(p.ValueNs)}-{HistogramSnapshot.HighestEquivalentValue(p.ValueNs)}), PromQL {promql * 1e9:0} ns, Prometheus bucket ({low * 1e9:0}, {high * 1e9:0}] ns");
            Assert.InRange(promql!.Value, low - 1e-12, high + 1e-12);
        }
        await _api.DeleteAsync(tx, rx);
    }

    [Fact]
    public async Task Every_Grafana_dashboard_query_names_exported_metrics_and_runs_in_Prometheus()
    {
        (Channel tx, Channel rx) = await Traffic.RunAsync(_api, "grafana", 20);
        IReadOnlyList<(string Where, string Expr)> queries = DeployFiles.DashboardQueries();
        Assert.True(queries.Count >= 15, $"{queries.Count} queries");
        Exposition metrics = await Exposition.ScrapeAsync(daemon.HttpAddress);
        var exported = metrics.Samples.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        foreach ((string where, string expr) in queries)
        {
            List<string> names = DeployFiles.MetricNames(expr).ToList();
            Assert.True(names.Count > 0, $"{where}: no metric in {expr}");
            Assert.All(names, name => Assert.True(exported.Contains(name), $"{where}: {name} is not in /metrics ({expr})"));
        }

        await using PrometheusServer prometheus = await PrometheusServer.StartAsync(daemon.HttpAddress, TimeSpan.FromSeconds(60));
        string channel = tx.Name["channels/".Length..];
        // rate() needs two samples in its window: wait for three scrapes of the quiet channels.
        await prometheus.WaitUntilAsync(
            async () => await prometheus.QueryScalarAsync($"count_over_time(rtudp_tx_sent_packets_total{{channel=\"{channel}\"}}[1m])") >= 3,
            TimeSpan.FromSeconds(60), "three scrapes");
        foreach ((string where, string expr) in queries)
        {
            string promql = DeployFiles.AsPromQL(expr);
            (string status, string error, int results) = await prometheus.QueryAsync(promql);
            Assert.True(status == "success", $"{where}: {promql}: {error}");
            // Filters (== 0, > 0) may rightly select nothing; everything else has series to show.
            bool filter = System.Text.RegularExpressions.Regex.IsMatch(promql, @"(==|>|<)\s*[0-9]");
            Assert.True(filter || results > 0, $"{where}: {promql} answered nothing");
        }
        await _api.DeleteAsync(tx, rx);
    }

    /// <summary>
    /// The Prometheus bucket that the engine's HDR bucket holding <paramref name="valueNs"/> is counted in (by its
    /// midpoint, as the exporter observes it): histogram_quantile interpolates within it. Its lower bound is 0 for the
    /// first bucket; beyond the last finite bound, histogram_quantile answers that bound.
    /// </summary>
    private static (double Low, double High) PrometheusBucketOf(long valueNs)
    {
        long lowest = HistogramSnapshot.LowestEquivalentValue(valueNs);
        long highest = HistogramSnapshot.HighestEquivalentValue(valueNs);
        double midpoint = (lowest + ((highest - lowest + 1) >> 1)) / 1e9;
        double[] bounds = LatencyBuckets.Bounds;
        for (int i = 0; i < bounds.Length; i++)
        {
            if (midpoint <= bounds[i])
            {
                return (i == 0 ? 0 : bounds[i - 1], bounds[i]);
            }
        }
        return (bounds[^1], bounds[^1]);
    }
}
