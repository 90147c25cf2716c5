using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using RtUdp.Core.Native;
using RtUdp.V1;
using static RtUdp.Bench.Util;

namespace RtUdp.Bench;

/// <summary>
/// Part "neighbours": a timed 1 kHz channel pinned to a CPU, fed 200 ms ahead by unary Send calls of 20
/// packets, beside a second client process whose channel (daemon defaults) streams at 50k packets/s and
/// then flat out. Idle runs first and last, back to back with the loaded ones, on one daemon.
/// </summary>
internal sealed partial class Parts
{
    private const long TimedPeriodNs = 1_000_000;
    private const int TimedPacketsPerCall = 20;
    private const long TimedLeadNs = 200_000_000;

    public void Neighbours()
    {
        using Socket timedSink = Sink();
        using Socket floodSink = Sink();
        using DaemonProcess daemon = DaemonProcess.Start(_engineLog);
        var runs = new List<(string Load, TimedRun Run, string Detail)>();
        runs.Add(("idle (first)", TimedClient(daemon, timedSink), ""));
        foreach ((string label, double rate, int? priority) in new (string, double, int?)[]
        {
            ("(a) neighbour at 50k pkt/s", 50_000.0, null),
            ("(b) neighbour flat out", 0.0, null),
            ("(c) neighbour flat out, asking SCHED_FIFO 80 unpinned", 0.0, 80),
        })
        {
            using var flood = FloodProcess.Start(daemon.Socket, EndPoint(floodSink), rate, priority);
            string floodChannel = flood.WaitReady(TimeSpan.FromSeconds(30));
            Thread.Sleep(500); // the stream has reached its rate
            long sent0 = daemon.GetStats(floodChannel).Tx.Sent;
            long t0 = Libc.MonotonicNow();
            TimedRun run = TimedClient(daemon, timedSink);
            long t1 = Libc.MonotonicNow();
            long sent1 = daemon.GetStats(floodChannel).Tx.Sent;
            string done = flood.Stop(TimeSpan.FromSeconds(60));
            runs.Add((label, run, $"neighbour sent {F((sent1 - sent0) / ((t1 - t0) / 1e9), "N0")} pkt/s during the run; its client: {done}"));
        }
        runs.Add(("idle (last)", TimedClient(daemon, timedSink), ""));

        TimedRun first = runs[0].Run;
        TimedRun last = runs[^1].Run;
        long idleLowP999 = Math.Min(first.SendError.P999, last.SendError.P999);
        long idleHighP999 = Math.Max(first.SendError.P999, last.SendError.P999);
        foreach ((string load, TimedRun run, string detail) in runs)
        {
            bool loaded = load.StartsWith('(');
            bool flatOut = load.Contains("flat out", StringComparison.Ordinal);
            // (c) is not a default: a client that asks an unpinned SCHED_FIFO worker takes its CPU from every
            // SCHED_OTHER thread there, other clients' processes included (docs/cpu-plan.md).
            bool diagnostic = load.StartsWith("(c)", StringComparison.Ordinal);
            string goal = !loaded || diagnostic ? "-" : flatOut ? "0 arrived late; call p99 <= 10 ms; p99.9 within idle range" : "0 arrived late; p99.9 within idle range";
            bool met = run.ArrivedLate == 0 && run.SendError.P999 <= idleHighP999 && (!flatOut || run.Calls.P99 <= 10_000_000);
            Rows.Add(new Row("neighbours",
                $"{load}: timed channel (CPU {SendCpu}, 1 kHz, {F(run.Packets, "N0")} packets via unary Send x{TimedPacketsPerCall}, 200 ms ahead) send error p50/p99/p99.9/max us; "
                + $"late: arrived late {run.ArrivedLate}, sent late by the engine {run.LateInEngine} (late in all {run.Late}); "
                + $"Send call p50/p99/max {Ms(run.Calls.P50)}/{Ms(run.Calls.P99)}/{Ms(run.Calls.Max)} ms{(detail.Length > 0 ? "; " + detail : "")}{run.Notes}",
                run.SendError.Format(),
                $"idle p99.9 range {F(idleLowP999 / 1e3, "0.0")}-{F(idleHighP999 / 1e3, "0.0")} us (first and last runs)",
                "p99.9 " + Ratio(run.SendError.P999, idleHighP999) + " of idle max",
                goal, loaded && !diagnostic ? Verdict(met) : diagnostic ? "- (diagnostic)" : "-"));
        }
    }

    private static string Ms(long ns) => F(ns / 1e6, "0.00");

    private sealed record TimedRun(long Packets, Percentiles SendError, Percentiles Calls, long Late, long ArrivedLate, long LateInEngine, string Notes);

    /// <summary>One timed run: a new channel, every packet scheduled 200 ms ahead in calls of 20, its histogram.</summary>
    private TimedRun TimedClient(DaemonProcess daemon, Socket sink)
    {
        IPEndPoint remote = EndPoint(sink);
        int count = (int)(seconds * 1e9 / TimedPeriodNs);
        Channel channel = daemon.Create(NextGrpcId("timed"), new Channel
        {
            Direction = ChannelDirection.Send,
            Remote = new Endpoint { Address = remote.Address.ToString(), Port = (uint)remote.Port },
            MaxPayload = 64,
            SendCpu = SendCpu,
            Capacity = Math.Max(65536, count),
        });
        Thread.Sleep(200); // the worker is up and pinned
        ByteString payload = ByteString.CopyFrom(new byte[64]);
        long start = Libc.MonotonicNow() + TimedLeadNs + 50_000_000;
        var calls = new List<long>(count / TimedPacketsPerCall);
        for (int i = 0; i < count; i += TimedPacketsPerCall)
        {
            long due = start + (i * TimedPeriodNs);
            long wait = due - TimedLeadNs - Libc.MonotonicNow();
            if (wait > 0)
            {
                Thread.Sleep(TimeSpan.FromTicks(wait / 100));
            }
            var request = new SendRequest { Channel = channel.Name };
            for (int j = i; j < Math.Min(count, i + TimedPacketsPerCall); j++)
            {
                request.Packets.Add(new OutgoingPacket { Payload = payload, MonotonicNs = start + (j * TimedPeriodNs), PacketId = j });
            }
            long before = Stopwatch.GetTimestamp();
            daemon.Packets.Send(request);
            calls.Add((long)(Stopwatch.GetElapsedTime(before).Ticks * 100));
        }
        long end = start + (count * TimedPeriodNs);
        RtUdp.V1.ChannelStats stats;
        do
        {
            stats = daemon.GetStats(channel.Name);
            if (stats.Tx.Pending == 0 && Libc.MonotonicNow() > end)
            {
                break;
            }
            Thread.Sleep(20);
        }
        while (Libc.MonotonicNow() < end + 5_000_000_000);
        Histogram histogram = daemon.Stats.GetHistogram(new GetHistogramRequest
        {
            Name = channel.Name,
            Kind = HistogramKind.SendError,
            Percentiles = { 50, 99, 99.9, 100 },
        }).Histogram;
        daemon.Channels.DeleteChannel(new DeleteChannelRequest { Name = channel.Name });
        long At(double p) => histogram.Percentiles.First(x => Math.Abs(x.Percentile_ - p) < 1e-9).ValueNs;
        string notes = stats.Tx.Sent == count ? "" : $" [sent {stats.Tx.Sent} of {count}]";
        return new TimedRun(count, new Percentiles(histogram.TotalCount, At(50), At(99), At(99.9), histogram.MaxNs), Percentiles.Of([.. calls]),
            stats.Tx.Late, stats.Tx.ArrivedLate, stats.Tx.LateInEngine, notes);
    }
}

/// <summary>The flood client (<see cref="FloodClient"/>) as a child process of the bench.</summary>
internal sealed class FloodProcess : IDisposable
{
    private readonly Process _process;

    private FloodProcess(Process process) => _process = process;

    public static FloodProcess Start(string socket, IPEndPoint remote, double rate, int? priority)
    {
        string self = Environment.ProcessPath!;
        var info = new ProcessStartInfo(self) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            info.ArgumentList.Add(typeof(FloodClient).Assembly.Location);
        }
        foreach (string arg in new[] { "flood", socket, $"{remote.Address}:{remote.Port}", rate.ToString(CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(arg);
        }
        if (priority is { } p)
        {
            info.ArgumentList.Add(p.ToString(CultureInfo.InvariantCulture));
        }
        return new FloodProcess(Process.Start(info)!);
    }

    /// <summary>Waits for the child's channel to be created and streaming; returns its name.</summary>
    public string WaitReady(TimeSpan timeout)
    {
        Task<string?> line = _process.StandardOutput.ReadLineAsync();
        if (!line.Wait(timeout) || line.Result is not { } text || !text.StartsWith("ready ", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"the flood client did not get ready within {timeout.TotalSeconds:0} s (exited: {_process.HasExited})");
        }
        return text["ready ".Length..];
    }

    /// <summary>Tells the child to stop, and returns its closing line.</summary>
    public string Stop(TimeSpan timeout)
    {
        _process.StandardInput.WriteLine("stop");
        _process.StandardInput.Flush();
        Task<string?> line = _process.StandardOutput.ReadLineAsync();
        if (!line.Wait(timeout) || line.Result is not { } text)
        {
            throw new InvalidOperationException($"the flood client did not stop within {timeout.TotalSeconds:0} s");
        }
        return text.StartsWith("done ", StringComparison.Ordinal) ? text["done ".Length..] : text;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.WaitForExit();
        _process.Dispose();
    }
}
