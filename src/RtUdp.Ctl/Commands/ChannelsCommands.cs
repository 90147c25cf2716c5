using System.CommandLine;
using RtUdp.Client;
using RtUdp.Ctl.Cli;
using RtUdp.Ctl.Output;
using RtUdp.V1;

namespace RtUdp.Ctl.Commands;

/// <summary>rtudpctl channels ls | create | start | stop | rm.</summary>
internal static class ChannelsCommands
{
    public static Command Build()
    {
        var channels = new Command("channels", "List, create, start, stop and remove channels");
        channels.Subcommands.Add(List());
        channels.Subcommands.Add(ChannelCreateCommand.Build());
        channels.Subcommands.Add(Transition("show", "Show one channel: its row, the data path in effect (socket or xdp) and its notes", (c, n, t) => c.GetChannelAsync(n, t)));
        channels.Subcommands.Add(Transition("start", "Start a channel's workers", (c, n, t) => c.StartChannelAsync(n, t)));
        channels.Subcommands.Add(Transition("stop", "Stop a channel's workers (queued packets are dropped and counted)", (c, n, t) => c.StopChannelAsync(n, t)));
        channels.Subcommands.Add(Remove());
        return channels;
    }

    private static Command List()
    {
        var ls = new Command("ls", "List the channels");
        ls.SetAction(async (parse, cancel) =>
        {
            using RtUdpClient client = GlobalOptions.Connect(parse);
            IReadOnlyList<Channel> list = await client.ListChannelsAsync(cancel);
            if (parse.GetValue(GlobalOptions.Json))
            {
                var response = new ListChannelsResponse();
                response.Channels.AddRange(list);
                Console.WriteLine(JsonOut.Pretty(response));
                return ExitCodes.Ok;
            }
            if (list.Count == 0)
            {
                Console.WriteLine("no channels (create one: rtudpctl channels create NAME --direction send --remote ADDR:PORT)");
                return ExitCodes.Ok;
            }
            Console.Write(Tables.Channels(list));
            foreach (Channel channel in list)
            {
                PrintNotes(channel, channel.Name["channels/".Length..] + ": ", withMode: false);
            }
            return ExitCodes.Ok;
        });
        return ls;
    }

    private static Command Transition(string verb, string description, Func<RtUdpClient, string, CancellationToken, Task<Channel>> call)
    {
        Argument<string> name = Options.ChannelArgument();
        var command = new Command(verb, description) { name };
        command.SetAction(async (parse, cancel) =>
        {
            using RtUdpClient client = GlobalOptions.Connect(parse);
            Channel channel = await call(client, parse.GetValue(name)!, cancel);
            Print(parse, channel);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Remove()
    {
        Argument<string> name = Options.ChannelArgument();
        var rm = new Command("rm", "Stop and delete a channel; prints its final counters") { name };
        rm.SetAction(async (parse, cancel) =>
        {
            using RtUdpClient client = GlobalOptions.Connect(parse);
            string channel = ChannelName.Of(parse.GetValue(name)!);
            IReadOnlyDictionary<string, long> counters = await client.DeleteChannelAsync(channel, cancel);
            if (parse.GetValue(GlobalOptions.Json))
            {
                var response = new DeleteChannelResponse();
                response.FinalCounters.Add(counters.ToDictionary());
                Console.WriteLine(JsonOut.Object(w =>
                {
                    w.WriteString("name", channel);
                    JsonOut.WriteMessage(w, "deleted", response);
                }));
                return ExitCodes.Ok;
            }
            Console.WriteLine($"deleted {channel}");
            foreach ((string counter, long value) in counters.Where(c => c.Value != 0).OrderBy(c => c.Key, StringComparer.Ordinal))
            {
                Console.WriteLine($"  {counter} {value}");
            }
            return ExitCodes.Ok;
        });
        return rm;
    }

    /// <summary>One channel: JSON or the table row plus what the engine put in effect.</summary>
    public static void Print(ParseResult parse, Channel channel)
    {
        if (parse.GetValue(GlobalOptions.Json))
        {
            Console.WriteLine(JsonOut.Pretty(channel));
            return;
        }
        Console.Write(Tables.Channels([channel]));
        if (Tables.DataPath(channel) is { } path)
        {
            Console.WriteLine($"data path: {path}");
        }
        if (channel.Direction is ChannelDirection.Send or ChannelDirection.Duplex)
        {
            // Unspecified from an older rtudpd: it drains.
            Console.WriteLine($"client exit: {(channel.ClientExit == ClientExitPolicy.Drop ? "drop" : "drain")}");
        }
        PrintNotes(channel, "", withMode: true);
    }

    /// <summary>"note: ..." for each setting not in effect as asked (the daemon's notes, then the engine's mode notes when <paramref name="withMode"/>).</summary>
    private static void PrintNotes(Channel channel, string prefix, bool withMode)
    {
        foreach (string note in channel.Notes)
        {
            Console.WriteLine($"{prefix}note: {note}");
        }
        if (withMode && channel.Mode is { Notes.Length: > 0 } mode)
        {
            Console.WriteLine($"{prefix}notes: {mode.Notes}");
        }
    }
}
