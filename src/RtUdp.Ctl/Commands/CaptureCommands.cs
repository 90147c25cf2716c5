using System.CommandLine;
using RtUdp.Client;
using RtUdp.Ctl.Cli;
using RtUdp.Ctl.Output;
using RtUdp.V1;

namespace RtUdp.Ctl.Commands;

/// <summary>rtudpctl capture start | ls | stop: a receiving channel's traffic written to pcapng by the daemon.</summary>
internal static class CaptureCommands
{
    public static Command Build()
    {
        var capture = new Command("capture", "Start, list and stop pcapng captures of receiving channels (written by the daemon)");
        capture.Subcommands.Add(Start());
        capture.Subcommands.Add(List());
        capture.Subcommands.Add(Stop());
        return capture;
    }

    private static Command Start()
    {
        Argument<string> channel = Options.ChannelArgument();
        channel.Description = "The receiving channel: its id (rx) or resource name (channels/rx)";
        Argument<string> file = new("FILE") { Description = "A file name in the daemon's capture directory (Capture:Directory); .pcapng is appended" };
        Option<bool> exclusive = new("--exclusive") { Description = "The capture drains the channel itself (clients' receives are refused meanwhile); default: tee what clients drain" };
        Option<bool> overwrite = new("--overwrite") { Description = "Replace an existing file of that name" };
        Option<long?> max = Options.Long("--max", "Stop after this many packets (default: no limit)", 1, long.MaxValue);
        Option<string> id = new("--id") { Description = "The capture's id: 1-63 of [a-z0-9-] (default: the daemon's cap-N)", HelpName = "ID", DefaultValueFactory = _ => "" };
        var start = new Command("start", "Start capturing a receiving channel to a pcapng file") { channel, file, exclusive, overwrite, max, id };
        start.SetAction(async (parse, cancel) =>
        {
            using RtUdpClient client = GlobalOptions.Connect(parse);
            Capture capture = await client.StartCaptureAsync(parse.GetValue(channel)!, parse.GetValue(file)!,
                parse.GetValue(exclusive) ? CaptureMode.Exclusive : CaptureMode.Tee, parse.GetValue(overwrite), parse.GetValue(max) ?? 0, parse.GetValue(id)!, cancel);
            Print(parse, [capture]);
            return ExitCodes.Ok;
        });
        return start;
    }

    private static Command List()
    {
        Argument<string?> channel = new("NAME") { Description = "Only this channel's captures (default: every channel's)", Arity = ArgumentArity.ZeroOrOne };
        var ls = new Command("ls", "List the captures (running and finished)") { channel };
        ls.SetAction(async (parse, cancel) =>
        {
            using RtUdpClient client = GlobalOptions.Connect(parse);
            IReadOnlyList<Capture> list = await client.ListCapturesAsync(parse.GetValue(channel), cancel);
            if (parse.GetValue(GlobalOptions.Json))
            {
                var response = new ListCapturesResponse();
                response.Captures.AddRange(list);
                Console.WriteLine(JsonOut.Pretty(response));
                return ExitCodes.Ok;
            }
            if (list.Count == 0)
            {
                Console.WriteLine("no captures (start one: rtudpctl capture start CHANNEL FILE)");
                return ExitCodes.Ok;
            }
            Print(parse, list);
            return ExitCodes.Ok;
        });
        return ls;
    }

    private static Command Stop()
    {
        Argument<string> name = new("NAME") { Description = "The capture: channels/{channel}/captures/{id}" };
        var stop = new Command("stop", "Stop a capture: what is queued is written and the file closed") { name };
        stop.SetAction(async (parse, cancel) =>
        {
            using RtUdpClient client = GlobalOptions.Connect(parse);
            Capture capture = await client.StopCaptureAsync(parse.GetValue(name)!, cancel);
            Print(parse, [capture]);
            return ExitCodes.Ok;
        });
        return stop;
    }

    private static void Print(ParseResult parse, IReadOnlyList<Capture> captures)
    {
        if (parse.GetValue(GlobalOptions.Json) && captures.Count == 1)
        {
            Console.WriteLine(JsonOut.Pretty(captures[0]));
            return;
        }
        var table = new Table("NAME", "STATE", "MODE", "WRITTEN", "DROPPED", "BYTES", "PATH", "ERROR");
        foreach (Capture c in captures)
        {
            table.Add(c.Name, c.State, c.Mode, c.PacketsWritten, c.PacketsDropped, c.BytesWritten, c.Path, c.Error);
        }
        Console.Write(table);
    }
}
