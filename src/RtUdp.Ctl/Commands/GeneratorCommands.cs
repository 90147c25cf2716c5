using System.CommandLine;
using Google.Protobuf.WellKnownTypes;
using RtUdp.Client;
using RtUdp.Ctl.Cli;
using RtUdp.Ctl.Output;
using RtUdp.V1;

namespace RtUdp.Ctl.Commands;

/// <summary>rtudpctl gen start | ls | rate | stop: packet generators the daemon runs on a sending channel (periodic, burst, Poisson, replay).</summary>
internal static class GeneratorCommands
{
    public static Command Build()
    {
        var gen = new Command("gen", "Start, list, re-rate and stop packet generators (the daemon sends on a schedule)");
        gen.Subcommands.Add(Start());
        gen.Subcommands.Add(List());
        gen.Subcommands.Add(Rate());
        gen.Subcommands.Add(Stop());
        return gen;
    }

    /// <summary>What gen start cannot say, and why: the API's GeneratorSpec has it.</summary>
    private const string ApiOnly =
        "Not offered here (GeneratorService.StartGenerator has them): a payload pattern or index prefix (PayloadSpec; here the payload is SIZE zero bytes), " +
        "a start at an absolute CLOCK_MONOTONIC or TAI time (use --delay), and the look-ahead (the daemon's default). A command line has no good spelling for a byte pattern, " +
        "and an absolute time needs the daemon's clock (rtudpctl clock).";

    private static Command Start()
    {
        Argument<string> channel = Options.ChannelArgument();
        channel.Description = "The sending channel: its id (tx) or resource name (channels/tx)";
        Option<TimeSpan?> period = NullableDuration("--period", "Periodic schedule: a packet every DURATION (1us-1h), at start + k * period");
        Option<int?> burst = Options.Int("--burst", "Burst schedule: N packets (--gap apart), a burst every --burst-period", 1, 100_000);
        Option<TimeSpan?> gap = NullableDuration("--gap", "Burst schedule: between the packets of a burst (default 0: back to back)");
        Option<TimeSpan?> burstPeriod = NullableDuration("--burst-period", "Burst schedule: from one burst's start to the next's");
        Option<double?> poisson = Options.Rate("--poisson", "Poisson schedule: exponential gaps at this mean rate, packets per second");
        Option<long?> seed = Options.Long("--seed", "Poisson schedule: the random seed; the same seed gives the same times (default 0)", 0, long.MaxValue);
        var replay = new Option<string?>("--replay") { Description = "Replay schedule: a pcap/pcapng file in the daemon's capture directory, its packets at their recorded gaps", HelpName = "FILE" };
        Option<int?> port = Options.Int("--port", "Replay schedule: only the file's UDP packets to this destination port (default: all)", 1, 65_535, "PORT");
        Option<int?> size = Options.Int("--size", "Payload bytes per packet (default 64)", 0, 65_507, "BYTES");
        Option<long?> count = Options.Long("--count", "Packets to send, then the generator completes (default: no limit)", 1, long.MaxValue);
        Option<TimeSpan?> duration = NullableDuration("--duration", "Send only the packets due within DURATION of the start");
        Option<TimeSpan?> delay = NullableDuration("--delay", "First packet this long after the call (default: at once)");
        Option<string> id = new("--id") { Description = "The generator's id: 1-63 of [a-z0-9-] (default: the daemon's gen-N)", HelpName = "ID", DefaultValueFactory = _ => "" };
        var start = new Command("start", "Start a generator on a sending channel: one schedule of --period, --burst, --poisson or --replay. " + ApiOnly)
        {
            channel, period, burst, gap, burstPeriod, poisson, seed, replay, port, size, count, duration, delay, id,
        };
        start.Validators.Add(result =>
        {
            int schedules = (result.GetResult(period) is null ? 0 : 1) + (result.GetResult(burst) is null ? 0 : 1)
                + (result.GetResult(poisson) is null ? 0 : 1) + (result.GetResult(replay) is null ? 0 : 1);
            if (schedules != 1)
            {
                result.AddError("give one schedule: --period 1ms, --burst 8 --burst-period 10ms, --poisson 1000 or --replay FILE");
            }
            if (result.GetResult(burst) is not null && result.GetResult(burstPeriod) is null)
            {
                result.AddError("--burst needs --burst-period");
            }
            if ((result.GetResult(gap) ?? result.GetResult(burstPeriod)) is not null && result.GetResult(burst) is null)
            {
                result.AddError("--gap and --burst-period go with --burst");
            }
            if (result.GetResult(seed) is not null && result.GetResult(poisson) is null)
            {
                result.AddError("--seed goes with --poisson");
            }
            if (result.GetResult(port) is not null && result.GetResult(replay) is null)
            {
                result.AddError("--port goes with --replay");
            }
        });
        start.SetAction(async (parse, cancel) =>
        {
            var spec = new GeneratorSpec
            {
                Payload = new PayloadSpec { Size = parse.GetValue(size) ?? 0 },
                Count = parse.GetValue(count) ?? 0,
            };
            if (parse.GetValue(period) is { } p)
            {
                spec.Periodic = new PeriodicSchedule { Period = Duration.FromTimeSpan(p) };
            }
            else if (parse.GetValue(burst) is { } n)
            {
                spec.Burst = new BurstSchedule
                {
                    BurstSize = n,
                    Gap = Duration.FromTimeSpan(parse.GetValue(gap) ?? TimeSpan.Zero),
                    BurstPeriod = Duration.FromTimeSpan(parse.GetValue(burstPeriod)!.Value),
                };
            }
            else if (parse.GetValue(poisson) is { } rate)
            {
                spec.Poisson = new PoissonSchedule { MeanRate = rate, Seed = (ulong)(parse.GetValue(seed) ?? 0) };
            }
            else
            {
                spec.Replay = new ReplaySchedule { FileName = parse.GetValue(replay)!, DestinationPort = (uint)(parse.GetValue(port) ?? 0) };
            }
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

    /// <summary>gen rate NAME --period D | --mean-rate R | --burst-period D: UpdateGenerator.</summary>
    private static Command Rate()
    {
        Argument<string> name = new("NAME") { Description = "The generator: channels/{channel}/generators/{id}" };
        Option<TimeSpan?> period = NullableDuration("--period", "A periodic generator's new period");
        Option<double?> meanRate = Options.Rate("--mean-rate", "A Poisson generator's new mean rate, packets per second");
        Option<TimeSpan?> burstPeriod = NullableDuration("--burst-period", "A burst generator's new burst period");
        var rate = new Command("rate", "Change a running generator's rate (one of --period, --mean-rate, --burst-period, as its schedule); prints from which packet it applies. A replay's gaps are the file's: it has no rate to change")
        {
            name, period, meanRate, burstPeriod,
        };
        rate.Validators.Add(result =>
        {
            int given = (result.GetResult(period) is null ? 0 : 1) + (result.GetResult(meanRate) is null ? 0 : 1) + (result.GetResult(burstPeriod) is null ? 0 : 1);
            if (given != 1)
            {
                result.AddError("give one of --period, --mean-rate or --burst-period");
            }
        });
        rate.SetAction(async (parse, cancel) =>
        {
            var request = new UpdateGeneratorRequest { Name = parse.GetValue(name)! };
            if (parse.GetValue(period) is { } p)
            {
                request.Period = Duration.FromTimeSpan(p);
            }
            else if (parse.GetValue(meanRate) is { } r)
            {
                request.MeanRate = r;
            }
            else
            {
                request.BurstPeriod = Duration.FromTimeSpan(parse.GetValue(burstPeriod)!.Value);
            }
            using RtUdpClient client = GlobalOptions.Connect(parse);
            UpdateGeneratorResponse response = await client.UpdateGeneratorAsync(request, cancel);
            if (parse.GetValue(GlobalOptions.Json))
            {
                Console.WriteLine(JsonOut.Pretty(response));
                return ExitCodes.Ok;
            }
            Print(parse, [response.Generator]);
            Console.WriteLine($"new rate from packet {response.FirstIndex}, due at {response.FirstDueMonotonicNs} ns (CLOCK_MONOTONIC)");
            return ExitCodes.Ok;
        });
        return rate;
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
