using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace RtUdp.Daemon.Tests.Metrics;

/// <summary>
/// Debian's prometheus on 127.0.0.1 (a free port), with its storage in a temporary directory and one scrape job,
/// rtudpd's HTTP listener every 250 ms. Needs: apt-get install -y prometheus.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    public const string Binary = "/usr/bin/prometheus";

    private readonly Process _process;
    private readonly string _root;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _log = new();

    private PrometheusServer(Process process, string root, Uri address)
    {
        _process = process;
        _root = root;
        Address = address;
    }

    public Uri Address { get; }

    public string Log => string.Join('\n', _log.TakeLast(60));

    public static async Task<PrometheusServer> StartAsync(Uri target, TimeSpan timeout)
    {
        RtUdp.Testing.Tool.RequireFile(Binary, "prometheus");
        string root = Path.Combine(Path.GetTempPath(), $"rtudp-prometheus-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        string config = Path.Combine(root, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 250ms
              scrape_timeout: 200ms
            scrape_configs:
              - job_name: rtudp
                static_configs:
                  - targets: ["{target.Authority}"]
            """);
        // prometheus logs the address it was given, not the one bound: a free port is picked here.
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var info = new ProcessStartInfo(Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList =
            {
                $"--config.file={config}",
                $"--storage.tsdb.path={Path.Combine(root, "data")}",
                $"--web.listen-address=127.0.0.1:{port}",
            },
        };
        var server = new PrometheusServer(Process.Start(info)!, root, new Uri($"http://127.0.0.1:{port}"));
        server._process.OutputDataReceived += (_, e) => server.OnLine(e.Data);
        server._process.ErrorDataReceived += (_, e) => server.OnLine(e.Data);
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        await server.WaitUntilAsync(async () => await server.ReadyAsync(), timeout, "prometheus ready");
        return server;
    }

    private void OnLine(string? line)
    {
        if (line is not null)
        {
            _log.Enqueue(line);
        }
    }

    private async Task<bool> ReadyAsync()
    {
        try
        {
            using HttpResponseMessage response = await _http.GetAsync(new Uri(Address, "/-/ready"));
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>An instant PromQL query: its status ("success" or "error" with the error) and how many series or values it answered.</summary>
    public async Task<(string Status, string Error, int Results)> QueryAsync(string promql)
    {
        using HttpResponseMessage response = await _http.GetAsync(new Uri(Address, "/api/v1/query?query=" + Uri.EscapeDataString(promql)));
        using JsonDocument doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        string status = doc.RootElement.GetProperty("status").GetString()!;
        if (status != "success")
        {
            return (status, doc.RootElement.TryGetProperty("error", out JsonElement e) ? e.GetString() ?? "" : "", 0);
        }
        JsonElement data = doc.RootElement.GetProperty("data");
        return (status, "", data.GetProperty("resultType").GetString() == "scalar" ? 1 : data.GetProperty("result").GetArrayLength());
    }

    /// <summary>An instant PromQL query answering one number (null: no result).</summary>
    public async Task<double?> QueryScalarAsync(string promql)
    {
        string json = await _http.GetStringAsync(new Uri(Address, "/api/v1/query?query=" + Uri.EscapeDataString(promql)));
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement data = doc.RootElement.GetProperty("data");
        Assert.Equal("success", doc.RootElement.GetProperty("status").GetString());
        JsonElement result = data.GetProperty("result");
        if (data.GetProperty("resultType").GetString() == "scalar")
        {
            return double.Parse(result[1].GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        Assert.True(result.GetArrayLength() <= 1, $"{promql}: more than one series: {json}");
        return result.GetArrayLength() == 0 ? null : double.Parse(result[0].GetProperty("value")[1].GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <summary>Polls until <paramref name="condition"/> holds; fails with prometheus' log after the timeout or if it exits.</summary>
    public Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what) =>
        Wait.UntilAsync(
            async () =>
            {
                if (await condition())
                {
                    return true;
                }
                Assert.False(_process.HasExited, $"prometheus exited ({(_process.HasExited ? _process.ExitCode : 0)}) before {what}:\n{Log}");
                return false;
            },
            timeout,
            () => $"{what}:\n{Log}",
            interval: TimeSpan.FromMilliseconds(100));

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
