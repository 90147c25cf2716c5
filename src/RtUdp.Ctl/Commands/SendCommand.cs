using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using RtUdp.Client;
using RtUdp.Ctl.Cli;
using RtUdp.Ctl.Output;
using RtUdp.V1;

namespace RtUdp.Ctl.Commands;

/// <summary>
/// rtudpctl send NAME [PAYLOAD...] [--file F | --stdin] [--hex] [--at MONO_NS | --delay D] [--rate R] [--count N] [--wait].
/// With --rate the engine times every packet (packet i is due at start + i/R in the host's CLOCK_MONOTONIC);
/// rtudpctl only keeps the ring fed, at most a second ahead, so any count fits any ring.
/// </summary>
internal static class SendCommand
{
    /// <summary>How far ahead of its time a paced packet is enqueued.</summary>
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

    /// <summary>The first packet's time when --rate is given without --at or --delay.</summary>
    private static readonly TimeSpan StartLead = TimeSpan.FromMilliseconds(20);

    private const int MaxBatch = 1024;

    public static Command Build()
    {
        Argument<string> name = Options.ChannelArgument();
        var payload = new Argument<string[]>("PAYLOAD") { Description = "The payload: the words joined by spaces, as UTF-8 text (hex with --hex)", Arity = ArgumentArity.ZeroOrMore };
        var file = new Option<FileInfo?>("--file") { Description = "Send this file's bytes as the payload", HelpName = "FILE" };
        var stdin = new Option<bool>("--stdin") { Description = "Send what stdin holds (read to its end) as the payload" };
        var hex = new Option<bool>("--hex") { Description = "The payload is hex digits (\"de ad be ef\", \"0xdeadbeef\")" };
        Option<long?> at = Options.Long("--at", "The (first) packet's time: the daemon host's CLOCK_MONOTONIC in ns (rtudpctl clock prints it)", 0, long.MaxValue, "MONO_NS");
        Option<TimeSpan> delay = Options.Duration("--delay", "The (first) packet's time: this long from now");
        var rate = new Option<double?>("--rate") { Description = "Packets per second, timed by the engine (default: all at the same time)", HelpName = "PPS" };
        Option<long?> count = Options.Long("--count", "How many packets (default 1)", 1, long.MaxValue);
        var wait = new Option<bool>("--wait") { Description = "Wait for each packet's outcome and print it (its stamp and its error against its time, or why it was dropped); exit 5 if any was not sent" };
        var command = new Command("send", "Enqueue packets on a sending channel, now or at a time") { name, payload, file, stdin, hex, at, delay, rate, count, wait };
        command.Validators.Add(result =>
        {
            if (result.GetResult(at) is not null && result.GetResult(delay) is not null)
            {
                result.AddError("--at and --delay exclude each other");
            }
            int sources = (result.GetValue(payload) is { Length: > 0 } ? 1 : 0) + (result.GetResult(file) is not null ? 1 : 0) + (result.GetValue(stdin) ? 1 : 0);
            if (sources == 0)
            {
                result.AddError("nothing to send: give PAYLOAD words, --file FILE or --stdin");
            }
            else if (sources > 1)
            {
                result.AddError("give one of PAYLOAD, --file and --stdin");
            }
            if (result.GetValue(rate) is { } r && (r <= 0 || double.IsNaN(r) || double.IsInfinity(r)))
            {
                result.AddError($"--rate: {r} is not a positive number of packets per second");
            }
        });
        command.SetAction(async (parse, cancel) =>
        {
            byte[] bytes = Payload(parse.GetValue(payload) ?? [], parse.GetValue(file), parse.GetValue(stdin), parse.GetValue(hex));
            var plan = new Plan(
                ChannelName.Of(parse.GetValue(name)!),
                ByteString.CopyFrom(bytes),
                parse.GetValue(count) ?? 1,
                parse.GetValue(rate),
                parse.GetValue(at),
                parse.GetResult(delay) is not null ? parse.GetValue(delay) : null,
                // Ids of this run's own, so --wait tells its packets from others this user sends meanwhile.
                Random.Shared.NextInt64(1, 1L << 29) << 32);
            using RtUdpClient client = GlobalOptions.Connect(parse);
            using OutcomeWatch? watch = parse.GetValue(wait) ? await client.WatchOutcomesAsync(plan.Channel, onlyMine: true, cancellationToken: cancel) : null;
            Summary summary = await RunAsync(client, plan, cancel);
            Report(parse, plan, summary);
            return watch is null ? ExitCodes.Ok : await SendWait.ReportAsync(client, watch, plan.IdBase + 1, summary.Enqueued, summary.LastDueNs, parse.GetValue(GlobalOptions.Json), cancel);
        });
        return command;
    }

    private sealed record Plan(string Channel, ByteString Payload, long Count, double? Rate, long? At, TimeSpan? Delay, long IdBase);

    private sealed record Summary(long Enqueued, long FirstDueNs, long LastDueNs, long RingFullWaits, TimeSpan Elapsed);

    private static byte[] Payload(string[] words, FileInfo? file, bool stdin, bool hex)
    {
        byte[] raw;
        if (file is not null)
        {
            try
            {
                raw = File.ReadAllBytes(file.FullName);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"--file: cannot read '{file.FullName}': {e.Message}");
            }
        }
        else if (stdin)
        {
            using var buffer = new MemoryStream();
            using Stream input = Console.OpenStandardInput();
            input.CopyTo(buffer);
            raw = buffer.ToArray();
        }
        else
        {
            raw = Encoding.UTF8.GetBytes(string.Join(' ', words));
        }
        return hex ? ValueParsers.Hex(Encoding.UTF8.GetString(raw)) : raw;
    }

    private static async Task<Summary> RunAsync(RtUdpClient client, Plan plan, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        EngineClock? engine = null;
        long startNs = 0;
        if (plan.Rate is not null || (plan.Delay is not null && plan.Count > 1))
        {
            // Absolute times from one start, so the spacing is the engine's, not the network's.
            engine = await client.SynchronizeClockAsync(cancellationToken: cancel);
            startNs = plan.At ?? engine.EngineNowNs() + (long)(plan.Delay ?? StartLead).TotalNanoseconds;
        }
        var progress = new Progress(plan.Count);
        long sent = 0;
        long first = 0;
        long last = 0;
        long waits = 0;
        while (sent < plan.Count)
        {
            long batch = Math.Min(MaxBatch, plan.Count - sent);
            if (engine is not null && plan.Rate is { } rate)
            {
                // Feed no more than Window ahead: wait for the next packet's turn, then take those due within the window.
                long horizon = engine.EngineNowNs() + (long)Window.TotalNanoseconds;
                long nextDue = Due(startNs, rate, sent);
                if (nextDue > horizon)
                {
                    await Task.Delay(TimeSpan.FromTicks(Math.Max(1, (nextDue - horizon) / 100)), cancel);
                    continue;
                }
                long dueWithin = (long)Math.Floor((horizon - startNs) / 1e9 * rate) + 1;
                batch = Math.Clamp(dueWithin - sent, 1, batch);
            }
            var packets = new List<OutgoingPacket>((int)batch);
            for (long i = sent; i < sent + batch; i++)
            {
                var packet = new OutgoingPacket { Payload = plan.Payload, PacketId = plan.IdBase + i + 1 };
                if (engine is not null)
                {
                    packet.MonotonicNs = plan.Rate is { } r ? Due(startNs, r, i) : startNs;
                }
                else if (plan.At is { } at)
                {
                    packet.MonotonicNs = at;
                }
                else if (plan.Delay is { } d)
                {
                    packet.Delay = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(d);
                }
                packets.Add(packet);
            }
            try
            {
                SendResponse response = await client.SendAsync(plan.Channel, packets, cancel);
                first = sent == 0 ? response.FirstDueMonotonicNs : first;
                last = response.LastDueMonotonicNs;
                sent += response.Accepted;
            }
            catch (RtUdpException e) when (e.StatusCode == StatusCode.ResourceExhausted && e.Reason == "RING_FULL")
            {
                // The packets before the full slot went in; the rest go again once the worker has made room.
                long accepted = e.Metadata.TryGetValue("accepted", out string? a) ? long.Parse(a, CultureInfo.InvariantCulture) : 0;
                first = sent == 0 && accepted > 0 && packets[0].HasMonotonicNs ? packets[0].MonotonicNs : first;
                sent += accepted;
                waits++;
                await Task.Delay(e.RetryDelay is { } retry && retry > TimeSpan.Zero ? retry : TimeSpan.FromMilliseconds(1), cancel);
            }
            progress.Update(sent);
        }
        progress.Done();
        return new Summary(sent, first, last, waits, clock.Elapsed);
    }

    private static long Due(long startNs, double rate, long index) => startNs + (long)Math.Round(index * 1e9 / rate);

    private static void Report(ParseResult parse, Plan plan, Summary summary)
    {
        if (parse.GetValue(GlobalOptions.Json))
        {
            Console.WriteLine(JsonOut.Object(w =>
            {
                w.WriteString("channel", plan.Channel);
                w.WriteNumber("enqueued", summary.Enqueued);
                w.WriteNumber("payloadBytes", plan.Payload.Length);
                w.WriteNumber("firstDueMonotonicNs", summary.FirstDueNs);
                w.WriteNumber("lastDueMonotonicNs", summary.LastDueNs);
                if (plan.Rate is { } rate)
                {
                    w.WriteNumber("rate", rate);
                }
                w.WriteNumber("ringFullWaits", summary.RingFullWaits);
                w.WriteNumber("elapsedSeconds", summary.Elapsed.TotalSeconds);
            }));
            return;
        }
        string span = summary.FirstDueNs == 0 && summary.LastDueNs == 0 ? ""
            : summary.FirstDueNs == summary.LastDueNs ? $", due at monotonic {summary.FirstDueNs} ns"
            : $", due monotonic {summary.FirstDueNs}..{summary.LastDueNs} ns ({Text.Ns(summary.LastDueNs - summary.FirstDueNs)})";
        string rateText = plan.Rate is { } r ? $", {r.ToString(CultureInfo.InvariantCulture)} packets/s" : "";
        string waits = summary.RingFullWaits > 0 ? $", waited {summary.RingFullWaits} times for ring space" : "";
        Console.WriteLine($"enqueued {summary.Enqueued} packet(s) of {plan.Payload.Length} bytes on {plan.Channel}{span}{rateText}{waits}");
    }

    /// <summary>"enqueued 1234/10000 (12%)" on stderr, redrawn in place, only on a terminal and only for sends that last.</summary>
    private sealed class Progress(long total)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly bool _terminal = !Console.IsErrorRedirected;
        private TimeSpan _drawn = TimeSpan.FromMilliseconds(500);
        private bool _shown;

        public void Update(long done)
        {
            if (!_terminal || _clock.Elapsed < _drawn)
            {
                return;
            }
            _drawn = _clock.Elapsed + TimeSpan.FromMilliseconds(200);
            _shown = true;
            double rate = done / _clock.Elapsed.TotalSeconds;
            Console.Error.Write($"\r\x1b[Kenqueued {done}/{total} ({100.0 * done / total:0}%), {rate:0} packets/s");
        }

        public void Done()
        {
            if (_shown)
            {
                Console.Error.Write("\r\x1b[K");
            }
        }
    }
}
