using System.Globalization;
using System.Text;

namespace RtUdp.Bench;

/// <summary>
/// rtudp-bench [all|throughput|refused|timing|gc|memory|grpc|rtt|generator|outcomes|neighbours|trains|xdp|shm|soak ...] [--duration SECONDS] [--out FILE]
/// ("soak" is not part of "all": it runs 10 minutes unless --duration says otherwise.)
/// Prints one markdown table (every engine figure beside a reference measured in the same run)
/// and writes it to bench/results/latest.md.
/// </summary>
internal static class Program
{
    private static readonly string[] AllParts = ["throughput", "refused", "timing", "gc", "memory", "grpc", "rtt", "generator", "outcomes", "neighbours", "trains", "xdp", "shm"];

    private static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "flood")
        {
            return FloodClient.Run(args[1..]);
        }
        double seconds = 5;
        double? soakSeconds = null;
        string? output = null;
        var parts = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--duration" or "-d" when i + 1 < args.Length:
                    seconds = double.Parse(args[++i], CultureInfo.InvariantCulture);
                    soakSeconds = seconds;
                    break;
                case "--out" or "-o" when i + 1 < args.Length:
                    output = args[++i];
                    break;
                case "--help" or "-h":
                    Console.WriteLine("usage: rtudp-bench [all|throughput|refused|timing|gc|memory|grpc|rtt|generator|outcomes|neighbours|trains|xdp|shm|soak ...] [--duration SECONDS (5; soak: 600)] [--out FILE (bench/results/latest.md)]");
                    return 0;
                case "all":
                    parts.AddRange(AllParts);
                    break;
                default:
                    if (!AllParts.Contains(args[i]) && args[i] != "soak")
                    {
                        Console.Error.WriteLine($"unknown argument '{args[i]}' (try --help)");
                        return 2;
                    }
                    parts.Add(args[i]);
                    break;
            }
        }
        if (parts.Count == 0)
        {
            parts.AddRange(AllParts);
        }
        output ??= Path.Combine(RepositoryRoot(), "bench", "results", "latest.md");

        // The main thread is not pinned: the engine and the references are started from it and would
        // inherit its affinity mask. Only the load threads (feeder, garbage) pin themselves to CPU 0.
        using var references = new References();
        var bench = new Parts(seconds, references);
        DateTime started = DateTime.UtcNow;
        string load = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
        var failures = new List<string>();
        foreach (string part in parts.Distinct())
        {
            Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {part}...");
            try
            {
                switch (part)
                {
                    case "throughput": bench.Throughput(); break;
                    case "refused": bench.Refused(); break;
                    case "timing": bench.Timing(); break;
                    case "gc": bench.GcImmunity(); break;
                    case "memory": bench.Memory(); break;
                    case "grpc": bench.Grpc(); break;
                    case "rtt": bench.RoundTrip(); break;
                    case "generator": bench.Generator(); break;
                    case "outcomes": bench.Outcomes(); break;
                    case "neighbours": bench.Neighbours(); break;
                    case "trains": bench.Trains(); break;
                    case "xdp": bench.Xdp(); break;
                    case "shm": bench.Shm(); break;
                    case "soak": bench.Soak(soakSeconds ?? Parts.DefaultSoakSeconds); break;
                }
            }
#pragma warning disable CA1031 // one failing part must not hide the others' results
            catch (Exception e)
#pragma warning restore CA1031
            {
                failures.Add($"{part}: {e.GetType().Name}: {e.Message}");
                bench.Rows.Add(new Row(part, "FAILED: " + e.Message.ReplaceLineEndings(" "), "", "", "", "", "**NO**"));
            }
        }

        string table = Render(bench.Rows, seconds, started, load, references);
        Console.WriteLine(table);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, table);
        Console.Error.WriteLine($"written to {output} in {(DateTime.UtcNow - started).TotalSeconds:0} s");
        IReadOnlyList<string> log = bench.EngineLog;
        if (log.Count > 0)
        {
            Console.Error.WriteLine("engine log (last 20 lines):");
            foreach (string line in log.TakeLast(20))
            {
                Console.Error.WriteLine("  " + line);
            }
        }
        return failures.Count == 0 ? 0 : 1;
    }

    private static string Render(List<Row> rows, double seconds, DateTime started, string load, References references)
    {
        var text = new StringBuilder();
        string kernel = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : "?";
        text.AppendLine(CultureInfo.InvariantCulture, $"## rtudp-bench {started:yyyy-MM-dd HH:mm} UTC, kernel {kernel}, {Environment.ProcessorCount} CPUs, {seconds:0.#} s per run");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Load average when the run started: {load} (other work on the host moves every figure; compare a row only with its reference).");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"References (same run, back to back): C programs built now ({references.Binary ?? references.Problem}), cyclictest: {references.Cyclictest ?? "not installed"}.");
        text.AppendLine();
        text.AppendLine("| part | measurement | engine | reference (same run) | ratio | goal | met |");
        text.AppendLine("|---|---|---|---|---|---|---|");
        foreach (Row row in rows)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {Cell(row.Part)} | {Cell(row.Measure)} | {Cell(row.Engine)} | {Cell(row.Reference)} | {Cell(row.Ratio)} | {Cell(row.Goal)} | {Cell(row.Verdict)} |");
        }
        return text.ToString();
    }

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).ReplaceLineEndings(" ");

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? dir = new(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RtUdp.sln")))
            {
                return dir.FullName;
            }
        }
        return Directory.GetCurrentDirectory();
    }
}
