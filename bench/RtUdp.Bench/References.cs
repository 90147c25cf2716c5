using System.Globalization;
using System.Net;

namespace RtUdp.Bench;

/// <summary>The same-run references: C programs compiled with gcc now, and cyclictest when installed.</summary>
internal sealed class References : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"rtudp-bench-ref-{Environment.ProcessId}");

    /// <summary>The compiled rtudp_ref binary, or null with <see cref="Problem"/> set.</summary>
    public string? Binary { get; }

    public string? Problem { get; }

    /// <summary>
    /// The compiled xdp_ref binary (the AF_XDP copy-mode TX loop, <c>native/xdp_ref.c</c>), or null with
    /// <see cref="XdpProblem"/> set. Built with rtudp_ref, the same way; no part runs it yet.
    /// </summary>
    public string? XdpBinary { get; }

    public string? XdpProblem { get; }

    public string? Cyclictest { get; } = Util.Which("cyclictest");

    public References()
    {
        string? gcc = Util.Which("gcc") ?? Util.Which("cc");
        if (gcc is null)
        {
            Problem = XdpProblem = "gcc not installed";
            return;
        }
        Directory.CreateDirectory(_directory);
        (Binary, Problem) = Compile(gcc, "rtudp_ref");
        (XdpBinary, XdpProblem) = Compile(gcc, "xdp_ref");
    }

    /// <summary>gcc -O2 -Wall of native/NAME.c into the temporary directory: the binary, or null and why.</summary>
    private (string? Binary, string? Problem) Compile(string gcc, string name)
    {
        string source = Path.Combine(AppContext.BaseDirectory, "native", name + ".c");
        string binary = Path.Combine(_directory, name);
        return Util.Run(gcc, ["-O2", "-Wall", "-o", binary, source], TimeSpan.FromSeconds(60), out string error) is null
            ? (null, "gcc failed: " + error)
            : (binary, null);
    }

    /// <summary>Plain sendmmsg loop: packets per second, or null.</summary>
    public double? Throughput(int port, int cpu, int priority, double seconds, int batch, out string detail)
    {
        Dictionary<string, string>? values = RunRef(["tput", Arg(port), Arg(cpu), Arg(priority), Arg(seconds), Arg(batch)], seconds, out detail);
        return values is null ? null : Util.Double(values, "pps");
    }

    /// <summary>
    /// A loop of one send() per train of <paramref name="segments"/> datagrams of <paramref name="size"/> bytes, cut by
    /// the kernel (UDP_SEGMENT): the datagrams/s UDP GSO reaches. Issue 18's reference for the engine's GSO trains.
    /// </summary>
    public double? GsoThroughput(int port, int cpu, int priority, double seconds, int segments, int size, out string detail) =>
        Gso(new IPEndPoint(IPAddress.Loopback, port), null, cpu, priority, seconds, segments, size, out detail)?.Pps;

    /// <summary>
    /// The C GSO loop to <paramref name="remote"/>, run through <paramref name="wrapper"/> (e.g. <c>ip netns exec NS</c>)
    /// when given: datagrams/s and the CLOCK_MONOTONIC bounds of its measured loop (to match a receiver's count).
    /// </summary>
    /// <param name="iovecPerDatagram">Hand each train as one iovec per datagram, as the engine does with packets that lie apart in its ring.</param>
    public GsoRun? Gso(IPEndPoint remote, IReadOnlyList<string>? wrapper, int cpu, int priority, double seconds, int segments, int size, out string detail, bool iovecPerDatagram = false)
    {
        Dictionary<string, string>? values = RunRef(["gso", Arg(remote.Port), Arg(cpu), Arg(priority), Arg(seconds), Arg(segments), Arg(size), remote.Address.ToString(), iovecPerDatagram ? "1" : "0"], seconds, out detail, wrapper);
        if (values is null)
        {
            return null;
        }
        if (Util.Long(values, "errors") > 0)
        {
            detail = $"{values["errors"]} of {values["calls"]} sends failed (first errno {values["first_errno"]}) {detail}".Trim();
        }
        return new GsoRun(Util.Double(values, "pps"), Util.Long(values, "sent"), Util.Long(values, "start_ns"), Util.Long(values, "end_ns"));
    }

    /// <summary>Sleep to due - margin (0: sleep only), spin to due, send: the error percentiles.</summary>
    public Percentiles? Timer(int port, int cpu, int priority, double seconds, long periodNs, long marginNs, out string detail)
    {
        Dictionary<string, string>? values = RunRef(["timer", Arg(port), Arg(cpu), Arg(priority), Arg(seconds), Arg(periodNs), Arg(marginNs)], seconds, out detail);
        return values is null
            ? null
            : new Percentiles(Util.Long(values, "count"), Util.Long(values, "p50"), Util.Long(values, "p99"), Util.Long(values, "p999"), Util.Long(values, "max"));
    }

    private Dictionary<string, string>? RunRef(string[] args, double seconds, out string detail, IReadOnlyList<string>? wrapper = null)
    {
        if (Binary is null)
        {
            detail = Problem ?? "no reference";
            return null;
        }
        (string file, string[] arguments) = Util.Wrapped(wrapper, Binary, args);
        string? output = Util.Run(file, arguments, TimeSpan.FromSeconds(seconds + 30), out string error);
        if (output is null)
        {
            detail = "rtudp_ref failed: " + error;
            return null;
        }
        detail = error; // warnings such as a failed sched_setscheduler
        return Util.KeyValues(output.Trim());
    }

    /// <summary>
    /// cyclictest -m -p PRIO -a CPU -t1 -i INTERVAL -D SECONDS -q -h 20000: wake-up latency percentiles from
    /// its 1 µs histogram (overflows count as the max).
    /// </summary>
    public Percentiles? RunCyclictest(int cpu, int priority, long intervalUs, double seconds, out string detail)
    {
        if (Cyclictest is null)
        {
            detail = "cyclictest not installed";
            return null;
        }
        const int HistogramUs = 20000;
        int duration = Math.Max(1, (int)Math.Ceiling(seconds));
        string? output = Util.Run(Cyclictest, ["-m", $"-p{priority}", $"-a{cpu}", "-t1", $"-i{intervalUs}", $"-D{duration}s", "-q", $"-h{HistogramUs}"],
            TimeSpan.FromSeconds(duration + 30), out string error);
        if (output is null)
        {
            detail = "cyclictest failed: " + error;
            return null;
        }
        var counts = new SortedDictionary<long, long>();
        long max = 0;
        long overflows = 0;
        foreach (string raw in output.Split('\n'))
        {
            string line = raw.Trim();
            if (line.StartsWith("# Max Latencies:", StringComparison.Ordinal))
            {
                max = long.Parse(line["# Max Latencies:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("# Histogram Overflows:", StringComparison.Ordinal))
            {
                overflows = long.Parse(line["# Histogram Overflows:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
            else if (line.Length > 0 && line[0] != '#')
            {
                string[] parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 2 && long.TryParse(parts[0], CultureInfo.InvariantCulture, out long bucket)
                    && long.TryParse(parts[1], CultureInfo.InvariantCulture, out long count) && count > 0)
                {
                    counts[bucket] = count;
                }
            }
        }
        long total = counts.Values.Sum() + overflows;
        detail = error;
        if (total == 0)
        {
            detail = "cyclictest printed no histogram";
            return null;
        }
        long At(double p)
        {
            long rank = Math.Max(1, (long)Math.Ceiling(p * total));
            long seen = 0;
            foreach ((long bucket, long count) in counts)
            {
                seen += count;
                if (seen >= rank)
                {
                    return bucket * 1000;
                }
            }
            return max * 1000;
        }
        return new Percentiles(total, At(0.5), At(0.99), At(0.999), max * 1000);
    }

    private static string Arg(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Arg(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>One run of the C GSO loop: datagrams/s, how many, and the CLOCK_MONOTONIC bounds of the loop.</summary>
internal readonly record struct GsoRun(double Pps, long Sent, long StartNs, long EndNs);
