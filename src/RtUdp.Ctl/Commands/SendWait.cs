using RtUdp.Client;
using RtUdp.Ctl.Cli;
using RtUdp.Ctl.Output;
using RtUdp.V1;

namespace RtUdp.Ctl.Commands;

/// <summary>send --wait: the outcomes of the packets just sent (ids first..first + count - 1), one line each, then a tally.</summary>
internal static class SendWait
{
    /// <summary>How long after the last packet's time its outcome may take (TX stamps can take their timeout).</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);

    /// <summary>How long after the last outcome network errors (ICMP) for the packets are still collected.</summary>
    private static readonly TimeSpan NetworkErrorLinger = TimeSpan.FromMilliseconds(200);

    public static async Task<int> ReportAsync(RtUdpClient client, OutcomeWatch watch, long first, long count, long lastDueNs, bool json, CancellationToken cancel)
    {
        if (count == 0)
        {
            return ExitCodes.Ok;
        }
        EngineClock clock = await client.SynchronizeClockAsync(cancellationToken: cancel);
        TimeSpan untilLast = TimeSpan.FromTicks(Math.Max(0, lastDueNs - clock.EngineNowNs()) / 100);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        deadline.CancelAfter(untilLast + Grace);
        var seen = new HashSet<long>();
        long sent = 0, late = 0, dropped = 0, missed = 0, refused = 0;
        try
        {
            await foreach (OutcomeRecord record in watch.ReadAllAsync(deadline.Token))
            {
                if (record.RecordCase == OutcomeRecord.RecordOneofCase.Gap)
                {
                    missed += record.Gap.Missed;
                    Console.WriteLine(json ? JsonOut.Line(record) : OutcomeText.Line(record));
                    continue;
                }
                if (record.RecordCase == OutcomeRecord.RecordOneofCase.NetworkError)
                {
                    if (record.NetworkError.PacketId >= first && record.NetworkError.PacketId < first + count)
                    {
                        refused++;
                        Console.WriteLine(json ? JsonOut.Line(record) : OutcomeText.Line(record));
                    }
                    continue;
                }
                PacketOutcome o = record.Outcome;
                if (o.PacketId < first || o.PacketId >= first + count || !seen.Add(o.PacketId))
                {
                    continue;
                }
                Console.WriteLine(json ? JsonOut.Line(record) : OutcomeText.Line(record));
                switch (o.Fate)
                {
                    case PacketFate.Sent:
                        sent++;
                        break;
                    case PacketFate.SentLate:
                        sent++;
                        late++;
                        break;
                    default:
                        dropped++;
                        break;
                }
                if (seen.Count == count)
                {
                    // Every packet's fate is in; an ICMP error for the last ones may still be on its way.
                    deadline.CancelAfter(NetworkErrorLinger);
                }
            }
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            // The grace is over: what did not come is reported below.
        }
        long unknown = count - seen.Count;
        if (!json)
        {
            Console.WriteLine($"outcomes: {sent} sent ({late} late), {dropped} dropped" + (unknown > 0 ? $", {unknown} unknown ({missed} missed by this watch)" : "")
                + (refused > 0 ? $"; {refused} of those sent drew a network error (see above)" : ""));
        }
        return dropped == 0 && unknown == 0 ? ExitCodes.Ok : ExitCodes.NotSent;
    }
}
