using System.Text.Json;
using System.Text.RegularExpressions;

namespace RtUdp.Daemon.Tests.Metrics;

/// <summary>deploy/: where it is, the Grafana dashboard's queries, and the tools that check the rest.</summary>
public static partial class DeployFiles
{
    public static string Root { get; } = Find();

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    private static string Find()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = System.IO.Path.Combine(d.FullName, "deploy");
            if (File.Exists(System.IO.Path.Combine(candidate, "rtudp.json")))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException("deploy/ not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Every PromQL expression of the dashboard: panel targets, rows' panels, annotations (panel title with each).</summary>
    public static IReadOnlyList<(string Where, string Expr)> DashboardQueries()
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path("grafana", "rtudp-dashboard.json")));
        var queries = new List<(string, string)>();
        void Panels(JsonElement panels)
        {
            foreach (JsonElement panel in panels.EnumerateArray())
            {
                string title = panel.TryGetProperty("title", out JsonElement t) ? t.GetString() ?? "" : "";
                if (panel.TryGetProperty("targets", out JsonElement targets))
                {
                    queries.AddRange(targets.EnumerateArray().Select(target => (title, target.GetProperty("expr").GetString()!)));
                }
                if (panel.TryGetProperty("panels", out JsonElement nested))
                {
                    Panels(nested);
                }
            }
        }
        Panels(doc.RootElement.GetProperty("panels"));
        foreach (JsonElement annotation in doc.RootElement.GetProperty("annotations").GetProperty("list").EnumerateArray())
        {
            queries.Add(("annotation " + annotation.GetProperty("name").GetString(), annotation.GetProperty("expr").GetString()!));
        }
        foreach (JsonElement variable in doc.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray())
        {
            if (variable.GetProperty("type").GetString() == "query")
            {
                // label_values(SELECTOR, label) is Grafana's, not PromQL: its selector is checked.
                string query = variable.GetProperty("query").GetProperty("query").GetString()!;
                queries.Add(("variable " + variable.GetProperty("name").GetString(), LabelValues().Match(query).Groups[1].Value));
            }
        }
        return queries;
    }

    /// <summary>Grafana's variables replaced so that Prometheus can run the expression.</summary>
    public static string AsPromQL(string expr) => expr
        .Replace("$__rate_interval", "1m", StringComparison.Ordinal)
        .Replace("$__range", "1h", StringComparison.Ordinal)
        .Replace("$instance", ".*", StringComparison.Ordinal)
        .Replace("$channel", ".*", StringComparison.Ordinal);

    /// <summary>The metric names an expression selects (identifiers of ours or the runtime's, not functions or labels).</summary>
    public static IEnumerable<string> MetricNames(string expr) =>
        MetricName().Matches(expr).Select(m => m.Value).Distinct();

    /// <summary>Debian's python3 with python3-yaml, which parses the Kubernetes manifests.</summary>
    public static string PythonWithYaml()
    {
        const string packages = "python3 python3-yaml";
        RtUdp.Testing.Tool.RequireFile("/usr/lib/python3/dist-packages/yaml/__init__.py", packages);
        return RtUdp.Testing.Tool.RequireFile("/usr/bin/python3", packages);
    }

    public static async Task<(int Exit, string Output)> RunAsync(string file, params string[] args)
    {
        ProcessResult result = await ProcessRunner.RunAsync(file, args, TimeSpan.FromSeconds(60));
        return (result.ExitCode, result.Stdout + result.Stderr);
    }

    [GeneratedRegex(@"\b(?:rtudp|process|dotnet)_[a-z0-9_]+\b")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"^label_values\((.*),\s*[a-z_]+\)$")]
    private static partial Regex LabelValues();
}
