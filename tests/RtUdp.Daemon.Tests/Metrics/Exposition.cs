using System.Globalization;
using System.Text.RegularExpressions;

namespace RtUdp.Daemon.Tests.Metrics;

/// <summary>One sample of a Prometheus text exposition.</summary>
public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>A scrape of /metrics, parsed (text format 0.0.4), and the tools to check it.</summary>
public sealed partial class Exposition
{
    private Exposition(string text, IReadOnlyList<Sample> samples, IReadOnlyDictionary<string, string> types)
    {
        Text = text;
        Samples = samples;
        Types = types;
    }

    public string Text { get; }

    public IReadOnlyList<Sample> Samples { get; }

    /// <summary>Metric family name to its # TYPE.</summary>
    public IReadOnlyDictionary<string, string> Types { get; }

    public static async Task<Exposition> ScrapeAsync(Uri httpAddress)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using HttpResponseMessage response = await client.GetAsync(new Uri(httpAddress, "/metrics"));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"/metrics answered {(int)response.StatusCode}: {text}");
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        return Parse(text);
    }

    public static Exposition Parse(string text)
    {
        var samples = new List<Sample>();
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n'))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                string[] parts = line.Split(' ');
                types[parts[2]] = parts[3];
                continue;
            }
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            Match m = SampleLine().Match(line);
            Assert.True(m.Success, $"not an exposition line: {line}");
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match l in Label().Matches(m.Groups[2].Value))
            {
                labels[l.Groups[1].Value] = l.Groups[2].Value.Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
            }
            samples.Add(new Sample(m.Groups[1].Value, labels, ParseValue(m.Groups[3].Value)));
        }
        return new Exposition(text, samples, types);
    }

    private static double ParseValue(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    /// <summary>Samples of <paramref name="name"/> whose labels include all of <paramref name="labels"/>.</summary>
    public IEnumerable<Sample> Find(string name, params (string Name, string Value)[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Name, out string? v) && v == l.Value));

    /// <summary>The one sample that matches.</summary>
    public double Value(string name, params (string Name, string Value)[] labels)
    {
        List<Sample> found = Find(name, labels).ToList();
        Assert.True(found.Count == 1, $"{found.Count} samples of {name}{{{string.Join(',', labels.Select(l => $"{l.Name}=\"{l.Value}\""))}}} in:\n{Text}");
        return found[0].Value;
    }

    /// <summary>`promtool check metrics` on the text: its exit code and what it said (nothing when clean).</summary>
    public async Task<(int Exit, string Output)> PromtoolCheckAsync()
    {
        Tool.RequireFile(Promtool, "prometheus");
        ProcessResult promtool = await ProcessRunner.RunAsync(Promtool, ["check", "metrics"], TimeSpan.FromSeconds(30), stdin: Text);
        return (promtool.ExitCode, (promtool.Stdout + promtool.Stderr).Trim());
    }

    public const string Promtool = "/usr/bin/promtool";

    [GeneratedRegex(@"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex Label();
}
