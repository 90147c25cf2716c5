using System.CommandLine;
using Google.Protobuf.WellKnownTypes;
using RtUdp.Client;
using RtUdp.Ctl.Cli;
using RtUdp.Ctl.Output;
using RtUdp.V1;

namespace RtUdp.Ctl.Commands;

/// <summary>rtudpctl gen start | ls | stop: periodic packet generators the daemon runs on a sending channel.</summary>
internal static class GeneratorCommands
{
    public static Command Build()
    {
        var gen = new Command("gen", "Start, list and stop packet generators (the daemon sends on a schedule)");
        gen.Subcommands.Add(Start());
        gen.Subcommands.Add(List());
        gen.Subcommands.Add(Stop());
        return gen;
    }

    private static Command Start()
    {
        Argument<string> channel = Options.ChannelArgument();
        channel.Description = "The sending channel: its id (tx) or resource name (channels/tx)";
        Option<TimeSpan> period = Options.Duration("--period", "Periodic schedule: a packet every DURATION (1us-1h), at start + k * period");
        Option<int?> size = Options.Int("--size", "Payload bytes per packet (default 64)", 0, 65_507, "BYTES");
        Option<long?> count = Options.Long("--count", "Packets to send, then the generator completes (default: no limit)", 1, long.MaxValue);
        Option<TimeSpan?> duration = NullableDuration("--duration", "Send only the packets due within DURATION of the start");
        Option<TimeSpan?> delay = NullableDuration("--delay", "First packet this long after the call (default: at once)");
        Option<string> id = new("--id") { Description = "The generator's id: 1-63 of [a-z0-9-] (default: the daemon's gen-N)", HelpName = "ID", DefaultValueFactory = _ => "" };
        var start = new Command("start", "Start a periodic generator on a sending channel") { channel, period, size, count, duration, delay, id };
        start.Validators.Add(result =>
        {
            if (result.GetResult(period) is null)
            {
                result.AddError("--period is required, such as --period 1ms");
            }
        });
        start.SetAction(async (parse, cancel) =>
        {
            var spec = new GeneratorSpec
            {
                Periodic = new PeriodicSchedule { Period = Duration.FromTimeSpan(parse.GetValue(period)) },
                Payload = new PayloadSpec { Size = parse.GetValue(size) ?? 0 },
                Count = parse.GetValue(count) ?? 0,
            };
            if (parse.GetValue(duration) is { } d)
            {
                spec.Duration = Duration.FromTimeSpan(d);
            }
            if (parse.GetValue(delay) is { } wait)
            {
                spec.StartDelay = Duration.FromTimeSpan(wait);
            }
            using RtUdpClient client = GlobalOptions.Connect(parse);
            Generator generator = await client.StartGeneratorAsync(parse.GetValue(channel)!, spec, parse.GetValue(id)!, cancel);
            Print(parse, [generator]);
            return ExitCodes.Ok;
        });
        return start;
    }

    private static Command List()
    {
        Argument<string?> channel = new("NAME") { Description = "Only this channel's generators (default: every channel's)", Arity = ArgumentArity.ZeroOrOne };
        var ls = new Command("ls", "List the generators (running and finished)") { channel };
        ls.SetAction(async (parse, cancel) =>
        {
            using RtUdpClient client = GlobalOptions.Connect(parse);
            IReadOnlyList<Generator> list = await client.ListGeneratorsAsync(parse.GetValue(channel), cancel);
            if (parse.GetValue(GlobalOptions.Json))
            {
                var response = new ListGeneratorsResponse();
                response.Generators.AddRange(list);
                Console.WriteLine(JsonOut.Pretty(response));
                return ExitCodes.Ok;
            }
            if (list.Count == 0)
            {
                Console.WriteLine("no generators (start one: rtudpctl gen start CHANNEL --period 1ms)");
                return ExitCodes.Ok;
            }
            Print(parse, list);
            return ExitCodes.Ok;
        });
        return ls;
    }

    private static Command Stop()
    {
        Argument<string> name = new("NAME") { Description = "The generator: channels/{channel}/generators/{id}" };
        var stop = new Command("stop", "Stop a generator (packets already queued, at most its look-ahead, are still sent)") { name };
        stop.SetAction(async (parse, cancel) =>
        {
            using RtUdpClient client = GlobalOptions.Connect(parse);
            Generator generator = await client.StopGeneratorAsync(parse.GetValue(name)!, cancel);
            Print(parse, [generator]);
            return ExitCodes.Ok;
        });
        return stop;
    }

    private static void Print(ParseResult parse, IReadOnlyList<Generator> generators)
    {
        if (parse.GetValue(GlobalOptions.Json) && generators.Count == 1)
        {
            Console.WriteLine(JsonOut.Pretty(generators[0]));
            return;
        }
        var table = new Table("NAME", "STATE", "GENERATED", "ENQUEUED", "LATE", "FULL-WAITS", "REJECTED", "ERROR");
        foreach (Generator g in generators)
        {
            GeneratorCounters c = g.Counters ?? new GeneratorCounters();
            table.Add(g.Name, g.State, c.Generated, c.Enqueued, c.EnqueuedLate, c.FullWaits, c.RejectedNotAccepting + c.RejectedTooLarge, g.Error);
        }
        Console.Write(table);
    }

    private static Option<TimeSpan?> NullableDuration(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "DURATION",
        CustomParser = result => Options.ParseDuration(result),
    };
}
