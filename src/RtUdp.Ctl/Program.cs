using System.CommandLine;
using RtUdp.Client;
using RtUdp.Ctl.Cli;
using RtUdp.Ctl.Commands;

namespace RtUdp.Ctl;

/// <summary>rtudpctl: operate rtudpd from a shell (README "rtudpctl"; exit codes in <see cref="ExitCodes"/>).</summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        RootCommand root = Build();
        ParseResult parse = root.Parse(args);
        IReadOnlyList<string> problems = parse.Errors.Count > 0 ? parse.Errors.Select(e => e.Message).ToList() : GlobalOptions.Problems(parse);
        if (problems.Count > 0)
        {
            foreach (string problem in problems)
            {
                await Console.Error.WriteLineAsync("rtudpctl: " + problem);
            }
            string command = string.Join(' ', Path(parse.CommandResult));
            await Console.Error.WriteLineAsync($"usage: {command} --help");
            return ExitCodes.Usage;
        }
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (UsageException e)
        {
            await Console.Error.WriteLineAsync("rtudpctl: " + e.Message);
            return ExitCodes.Usage;
        }
        catch (DaemonUnreachableException e)
        {
            await Console.Error.WriteLineAsync("rtudpctl: " + Advice.Unreachable(e));
            return ExitCodes.Unreachable;
        }
        catch (RtUdpException e)
        {
            await Console.Error.WriteLineAsync("rtudpctl: " + Advice.Refused(e));
            return ExitCodes.Refused;
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("rtudpctl: interrupted");
            return 130;
        }
    }

    public static RootCommand Build()
    {
        var root = new RootCommand("rtudpctl: operate rtudpd, the real-time UDP daemon, over its gRPC API (unix socket by default)");
        GlobalOptions.AddTo(root);
        root.Subcommands.Add(ChannelsCommands.Build());
        root.Subcommands.Add(SendCommand.Build());
        root.Subcommands.Add(RecvCommand.Build());
        root.Subcommands.Add(OutcomesCommand.Build());
        root.Subcommands.Add(StatsCommand.Build());
        root.Subcommands.Add(HistCommand.Build());
        root.Subcommands.Add(WatchCommand.Build());
        root.Subcommands.Add(GeneratorCommands.Build());
        root.Subcommands.Add(CaptureCommands.Build());
        root.Subcommands.Add(InfoCommands.Capabilities());
        root.Subcommands.Add(InfoCommands.Health());
        root.Subcommands.Add(InfoCommands.Clock());
        return root;
    }

    private static IEnumerable<string> Path(System.CommandLine.Parsing.CommandResult? result)
    {
        var names = new Stack<string>();
        for (System.CommandLine.Parsing.SymbolResult? r = result; r is not null; r = r.Parent)
        {
            if (r is System.CommandLine.Parsing.CommandResult c)
            {
                names.Push(c.Parent is null ? "rtudpctl" : c.Command.Name);
            }
        }
        return names;
    }
}
