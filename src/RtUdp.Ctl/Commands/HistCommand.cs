using System.CommandLine;
using System.Globalization;
using RtUdp.Client;
using RtUdp.Ctl.Cli;
using RtUdp.Ctl.Output;
using RtUdp.V1;

namespace RtUdp.Ctl.Commands;

/// <summary>rtudpctl hist NAME [--kind K] [--percentiles 50,99,99.9]: percentiles and a bar chart of the buckets.</summary>
internal static class HistCommand
{
    private static readonly Dictionary<string, HistogramKind> Kinds = new()
    {
        ["send-error"] = HistogramKind.SendError,
        ["delivery"] = HistogramKind.Delivery,
        ["stage-wake"] = HistogramKind.StageWake,
        ["stage-send-call"] = HistogramKind.StageSendCall,
        ["stage-sched"] = HistogramKind.StageSched,
        ["stage-software"] = HistogramKind.StageSoftware,
        ["stage-hardware"] = HistogramKind.StageHardware,
        ["one-way"] = HistogramKind.OneWay,
        ["jitter"] = HistogramKind.Jitter,
        ["round-trip"] = HistogramKind.RoundTrip,
    };

    private const int BarWidth = 40;
    private const int MaxRows = 24;

    public static Command Build()
    {
        Argument<string> name = Options.ChannelArgument();
        Option<HistogramKind> kind = Options.Choice("--kind", "Which latency (one-way, jitter: a sequenced receiving channel's flows; round-trip: a sequenced duplex channel facing a reflector)", Kinds, HistogramKind.SendError);
        var percentiles = new Option<double[]?>("--percentiles")
        {
            Description = "Comma-separated percentiles 0-100 (default 50,90,99,99.9,99.99,100)",
            HelpName = "P,P,...",
            CustomParser = result =>
            {
                string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                if (ValueParsers.TryPercentiles(text, out double[] values))
                {
                    return values;
                }
                result.AddError($"'{text}' is not a comma-separated list of percentiles from 0 to 100, such as 50,99,99.9");
                return null;
            },
        };
        var command = new Command("hist", "A latency histogram: percentiles and a bar chart of its buckets") { name, kind, percentiles };
        command.SetAction(async (parse, cancel) =>
        {
            using RtUdpClient client = GlobalOptions.Connect(parse);
            string channel = ChannelName.Of(parse.GetValue(name)!);
            Histogram h = await client.GetHistogramAsync(channel, parse.GetValue(kind), parse.GetValue(percentiles), cancel);
            if (parse.GetValue(GlobalOptions.Json))
            {
                Console.WriteLine(JsonOut.Pretty(h));
                return ExitCodes.Ok;
            }
            Console.Write(Render(channel, h));
            return ExitCodes.Ok;
        });
        return command;
    }

    public static string Render(string channel, Histogram h)
    {
        var text = new System.Text.StringBuilder();
        text.Append($"{Text.Name(h.Kind)} of {channel}: {h.TotalCount} samples");
        if (h.TotalCount == 0)
        {
            return text.Append('\n').ToString();
        }
        text.Append($", min {Text.Ns(h.MinNs)}, mean {Text.Ns(h.MeanNs)}, max {Text.Ns(h.MaxNs)}");
        if (h.BelowZeroCount > 0 || h.OverflowCount > 0)
        {
            text.Append($" ({h.BelowZeroCount} below zero, {h.OverflowCount} beyond range)");
        }
        text.Append('\n');
        var table = new Table("PERCENTILE", "VALUE", "NS");
        foreach (Percentile p in h.Percentiles)
        {
            table.Add("p" + p.Percentile_.ToString("0.####", CultureInfo.InvariantCulture), Text.Ns(p.ValueNs), p.ValueNs);
        }
        text.Append(table).Append('\n');
        List<(long Low, long High, long Count)> rows = Rows(h.Buckets);
        long max = rows.Count == 0 ? 1 : rows.Max(r => r.Count);
        foreach ((long low, long high, long count) in rows)
        {
            int bar = (int)Math.Ceiling((double)count / max * BarWidth);
            text.Append($"{Text.Ns(low),9} - {Text.Ns(high),-9} |{new string('#', bar).PadRight(BarWidth)}| {count}\n");
        }
        return text.ToString();
    }

    /// <summary>The buckets, merged into at most <see cref="MaxRows"/> rows of consecutive buckets with about equal log spans.</summary>
    private static List<(long Low, long High, long Count)> Rows(IReadOnlyList<HistogramBucket> buckets)
    {
        if (buckets.Count <= MaxRows)
        {
            return buckets.Select(b => (b.LowNs, b.HighNs, b.Count)).ToList();
        }
        double lo = Math.Log(Math.Max(1, buckets[0].LowNs));
        double hi = Math.Log(Math.Max(2, buckets[^1].HighNs));
        double step = (hi - lo) / MaxRows;
        var rows = new List<(long Low, long High, long Count)>();
        foreach (HistogramBucket b in buckets)
        {
            int row = Math.Min(MaxRows - 1, (int)((Math.Log(Math.Max(1, b.LowNs)) - lo) / step));
            if (rows.Count > 0 && RowOf(rows[^1].Low, lo, step) == row)
            {
                rows[^1] = (rows[^1].Low, b.HighNs, rows[^1].Count + b.Count);
            }
            else
            {
                rows.Add((b.LowNs, b.HighNs, b.Count));
            }
        }
        return rows;
    }

    private static int RowOf(long low, double lo, double step) => Math.Min(MaxRows - 1, (int)((Math.Log(Math.Max(1, low)) - lo) / step));
}
