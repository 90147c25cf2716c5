using System.CommandLine;
using RtUdp.Client;
using RtUdp.Ctl.Cli;
using RtUdp.Ctl.Output;
using RtUdp.V1;

namespace RtUdp.Ctl.Commands;

/// <summary>rtudpctl outcomes NAME [--mine] [--abnormal] [--count N]: follows what became of each packet of a sending channel.</summary>
internal static class OutcomesCommand
{
    public static Command Build()
    {
        Argument<string> name = Options.ChannelArgument();
        var mine = new Option<bool>("--mine") { Description = "Only the packets this user (or host, or certificate) sent" };
        var abnormal = new Option<bool>("--abnormal") { Description = "Only packets sent late, dropped, or that arrived late at the engine, and network errors (ICMP) for packets sent" };
        Option<long?> count = Options.Long("--count", "Stop after this many records (default: follow until Ctrl+C)", 1, long.MaxValue);
        var command = new Command("outcomes", "Follow each packet's outcome on a sending channel: its stamps, its error against its time, or why it was dropped") { name, mine, abnormal, count };
        command.SetAction(async (parse, cancel) =>
        {
            using RtUdpClient client = GlobalOptions.Connect(parse);
            using OutcomeWatch watch = await client.WatchOutcomesAsync(parse.GetValue(name)!, parse.GetValue(mine), parse.GetValue(abnormal), cancellationToken: cancel);
            bool json = parse.GetValue(GlobalOptions.Json);
            long left = parse.GetValue(count) ?? long.MaxValue;
            try
            {
                await foreach (OutcomeRecord record in watch.ReadAllAsync(cancel))
                {
                    Console.WriteLine(json ? JsonOut.Line(record) : OutcomeText.Line(record));
                    if (--left == 0)
                    {
                        break;
                    }
                }
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                // Ctrl+C: done.
            }
            return ExitCodes.Ok;
        });
        return command;
    }
}
