using System.CommandLine;
using System.Diagnostics;
using RtUdp.Client;
using RtUdp.Ctl.Cli;
using RtUdp.Ctl.Output;
using RtUdp.V1;

namespace RtUdp.Ctl.Commands;

/// <summary>
/// rtudpctl watch [NAME] [--interval D] [--count N]: a live table of every channel (or one), with rates from
/// the difference between two readings. On a terminal the table is redrawn in place (ANSI); otherwise each
/// refresh is printed after the last, with the time first; --json prints one ChannelStats object per line.
/// </summary>
internal static class WatchCommand
{
    public static Command Build()
    {
        var name = new Argument<string?>("NAME") { Description = "Only this channel (default: every channel)", Arity = ArgumentArity.ZeroOrOne };
        Option<TimeSpan> interval = Options.Duration("--interval", "Time between refreshes", TimeSpan.FromSeconds(1));
        Option<long?> count = Options.Long("--count", "Stop after this many refreshes (default: until Ctrl-C)", 1, long.MaxValue);
        var command = new Command("watch", "Live counters and rates of the channels") { name, interval, count };
        command.Validators.Add(result =>
        {
            if (result.GetResult(interval) is not null && result.GetValue(interval) < TimeSpan.FromMilliseconds(10))
            {
                result.AddError("--interval: at least 10ms");
            }
        });
        command.SetAction(async (parse, cancel) =>
        {
            using RtUdpClient client = GlobalOptions.Connect(parse);
            string? only = parse.GetValue(name) is { } n ? ChannelName.Of(n) : null;
            long refreshes = parse.GetValue(count) ?? long.MaxValue;
            bool json = parse.GetValue(GlobalOptions.Json);
            bool terminal = !Console.IsOutputRedirected && !json;
            var previous = new Dictionary<string, ChannelStats>();
            int drawnLines = 0;
            using var timer = new PeriodicTimer(parse.GetValue(interval));
            for (long i = 0; i < refreshes; i++)
            {
                if (i > 0)
                {
                    await timer.WaitForNextTickAsync(cancel);
                }
                IReadOnlyList<string> names = only is not null ? [only] : (await client.ListChannelsAsync(cancel)).Select(c => c.Name).ToList();
                var current = new List<ChannelStats>();
                foreach (string channel in names)
                {
                    try
                    {
                        current.Add(await client.GetStatsAsync(channel, cancel));
                    }
                    catch (RtUdpException e) when (e.StatusCode == Grpc.Core.StatusCode.NotFound && only is null)
                    {
                        // Deleted between the list and the read.
                    }
                }
                if (json)
                {
                    foreach (ChannelStats stats in current)
                    {
                        Console.WriteLine(JsonOut.Line(stats));
                    }
                    continue;
                }
                string table = Render(current, previous);
                if (terminal)
                {
                    // Back to where the last table started, clear to the end of the screen, draw the new one.
                    Console.Write((drawnLines > 0 ? $"\x1b[{drawnLines}F\x1b[J" : "") + table);
                    drawnLines = table.Count(c => c == '\n');
                }
                else
                {
                    Console.Write($"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ}\n{table}");
                }
                previous = current.ToDictionary(s => s.Channel);
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static string Render(List<ChannelStats> current, Dictionary<string, ChannelStats> previous)
    {
        var table = new Table("CHANNEL", "STATE", "SENT/S", "RECV/S", "SENT", "RECEIVED", "DROPPED", "LATE", "PENDING", "REJECTED", "SEND-ERR-MAX");
        foreach (ChannelStats s in current)
        {
            TxAccounting tx = s.Tx ?? new TxAccounting();
            RxAccounting rx = s.Rx ?? new RxAccounting();
            string sentRate = "-";
            string receivedRate = "-";
            if (previous.TryGetValue(s.Channel, out ChannelStats? p) && s.ReadMonotonicNs > p.ReadMonotonicNs)
            {
                double seconds = (s.ReadMonotonicNs - p.ReadMonotonicNs) / 1e9;
                sentRate = ((tx.Sent - (p.Tx?.Sent ?? 0)) / seconds).ToString("0", System.Globalization.CultureInfo.InvariantCulture);
                receivedRate = ((rx.Received - (p.Rx?.Received ?? 0)) / seconds).ToString("0", System.Globalization.CultureInfo.InvariantCulture);
            }
            long dropped = tx.DroppedLate + tx.DroppedError + tx.DroppedStopped + rx.DroppedOverflow + rx.DroppedTruncated + rx.DroppedKernel;
            table.Add(ChannelName.IdOf(s.Channel), s.State, sentRate, receivedRate, tx.Sent, rx.Received, dropped, tx.Late, tx.Pending + rx.Buffered, tx.RejectedFull,
                s.SendErrorCount > 0 ? Text.Ns(s.SendErrorMaxNs) : "-");
        }
        return current.Count == 0 ? "no channels\n" : table.ToString();
    }
}
