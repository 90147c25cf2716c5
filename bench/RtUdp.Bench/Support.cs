using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Engine;

namespace RtUdp.Bench;

/// <summary>One line of the results table: an engine figure beside its same-run reference.</summary>
internal sealed record Row(string Part, string Measure, string Engine, string Reference, string Ratio, string Goal, string Verdict);

/// <summary>p50 / p99 / p99.9 / max of a set of latencies in nanoseconds.</summary>
internal readonly record struct Percentiles(long Count, long P50, long P99, long P999, long Max)
{
    public static Percentiles Of(long[] values)
    {
        if (values.Length == 0)
        {
            return default;
        }
        Array.Sort(values);
        return new Percentiles(values.Length, At(values, 0.5), At(values, 0.99), At(values, 0.999), values[^1]);
    }

    /// <summary>The smallest value with at least p of the samples at or below it (same rule as rtudp_ref.c).</summary>
    private static long At(long[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    public string Format() => Count == 0
        ? "no samples"
        : string.Create(CultureInfo.InvariantCulture, $"{Us(P50)} / {Us(P99)} / {Us(P999)} / {Us(Max)}");

    public static string Us(long ns) => (ns / 1000.0).ToString(ns < 10_000 ? "0.00" : ns < 100_000 ? "0.0" : "0", CultureInfo.InvariantCulture);
}

/// <summary>Small helpers shared by the parts.</summary>
internal static class Util
{
    public static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    public static string Ratio(double engine, double reference) => reference > 0 ? F(engine / reference, "0.00") + "x" : "n/a";

    /// <summary>A UDP socket on loopback that nobody reads: packets sent to it are counted by the sender and dropped by the kernel when its buffer is full.</summary>
    public static Socket Sink()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 256 * 1024 };
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    public static IPEndPoint EndPoint(Socket socket) => (IPEndPoint)socket.LocalEndPoint!;

    /// <summary>Pins the calling thread to <paramref name="cpu"/> at SCHED_OTHER.</summary>
    public static void Pin(int cpu) => RealtimeThread.Apply(cpu, 0, memoryLocked: false);

    /// <summary>Lets the calling thread run on every CPU again (undoes <see cref="Pin"/>).</summary>
    public static unsafe void Unpin()
    {
        Tmds.Linux.cpu_set_t set = default;
        for (int cpu = 0; cpu < 1024 && cpu < sizeof(Tmds.Linux.cpu_set_t) * 8; cpu++)
        {
            Tmds.Linux.LibC.CPU_SET(cpu, &set);
        }
        _ = Tmds.Linux.LibC.sched_setaffinity(0, (Tmds.Linux.size_t)sizeof(Tmds.Linux.cpu_set_t), &set);
    }

    /// <summary>
    /// Sets the affinity of every thread of this process (new threads inherit their creator's) to
    /// <paramref name="cpu"/>, or back to every CPU when null. Done twice to catch threads created meanwhile.
    /// </summary>
    public static unsafe void ConfineProcess(int? cpu)
    {
        Tmds.Linux.cpu_set_t set = default;
        for (int c = 0; c < 1024 && c < sizeof(Tmds.Linux.cpu_set_t) * 8; c++)
        {
            if (cpu is null || cpu == c)
            {
                Tmds.Linux.LibC.CPU_SET(c, &set);
            }
        }
        for (int pass = 0; pass < 2; pass++)
        {
            foreach (string task in Directory.GetDirectories("/proc/self/task"))
            {
                if (int.TryParse(Path.GetFileName(task), NumberStyles.None, CultureInfo.InvariantCulture, out int tid))
                {
                    _ = Tmds.Linux.LibC.sched_setaffinity(tid, (Tmds.Linux.size_t)sizeof(Tmds.Linux.cpu_set_t), &set);
                }
            }
        }
    }

    public static ChannelConfig Sender(uint id, string name, IPEndPoint remote) => new()
    {
        Id = id,
        Name = name,
        Direction = ChannelDirection.Send,
        Local = new IPEndPoint(IPAddress.Loopback, 0),
        Remote = remote,
        MaxPayload = 64,
        Capacity = 65536,
        SendCpu = 1,
        Priority = 80,
        Timing = TimingStrategy.Hybrid,
        SpinMarginNs = 100_000,
        BatchSize = 64,
    };

    /// <summary>The program and arguments that run <paramref name="file"/> through <paramref name="wrapper"/> (e.g. <c>ip netns exec NS</c>), or directly.</summary>
    public static (string File, string[] Args) Wrapped(IReadOnlyList<string>? wrapper, string file, IEnumerable<string> args) =>
        wrapper is { Count: > 0 } ? (wrapper[0], [.. wrapper.Skip(1), file, .. args]) : (file, [.. args]);

    /// <summary>Runs a program to completion and returns its standard output (null if it failed).</summary>
    public static string? Run(string file, IEnumerable<string> args, TimeSpan timeout, out string error)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using Process process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill();
            process.WaitForExit();
            error = $"{Path.GetFileName(file)} timed out";
            return null;
        }
        error = stderr.Result.Trim();
        return process.ExitCode == 0 ? stdout.Result : null;
    }

    /// <summary>Parses "key=value key=value" into a dictionary.</summary>
    public static Dictionary<string, string> KeyValues(string line)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string pair in line.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                result[pair[..eq]] = pair[(eq + 1)..];
            }
        }
        return result;
    }

    public static long Long(Dictionary<string, string> values, string key) => long.Parse(values[key], CultureInfo.InvariantCulture);

    public static double Double(Dictionary<string, string> values, string key) => double.Parse(values[key], CultureInfo.InvariantCulture);

    /// <summary>A field of /proc/PID/status in KiB (VmRSS, RssAnon, RssShmem...), -1 if absent.</summary>
    public static long StatusKiB(int pid, string field)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }
        return -1;
    }

    public static string MiB(long kib) => F(kib / 1024.0, "0.0") + " MiB";

    public static string? Which(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/usr/sbin:/bin:/sbin").Split(':'))
        {
            string path = Path.Combine(dir, name);
            if (File.Exists(path))
            {
                return path;
            }
        }
        return null;
    }
}
