using RtUdp.V1;

namespace RtUdp.Ctl.Output;

/// <summary>One line per outcome record, for people: "packet 7: sent-late by 1.20 ms (software stamp), ...".</summary>
internal static class OutcomeText
{
    public static string Line(OutcomeRecord record)
    {
        if (record.RecordCase == OutcomeRecord.RecordOneofCase.Gap)
        {
            return $"missed {record.Gap.Missed} outcome(s): {record.Gap.Reason}";
        }
        PacketOutcome o = record.Outcome;
        string fate = Text.Name(o.Fate);
        string detail = o.Fate switch
        {
            PacketFate.Sent or PacketFate.SentLate => $"{Signed(o.SendErrorNs)} against its time ({Text.Name(o.StampSource)} stamp)",
            PacketFate.DroppedError => $"{o.Error} ({o.Errno})",
            PacketFate.DroppedLate => $"it reached the worker {Signed(o.ArrivedMonotonicNs - o.DueMonotonicNs)} after its time",
            _ => "",
        };
        string arrived = o.ArrivedLate && o.Fate != PacketFate.DroppedLate ? $"; arrived late at the engine, {Text.Ns(o.ArrivedMonotonicNs - o.DueMonotonicNs)} after its time" : "";
        return $"packet {o.PacketId}: {fate}" + (detail.Length > 0 ? $", {detail}" : "") + arrived;
    }

    private static string Signed(long ns) => (ns < 0 ? "-" : "+") + Text.Ns(Math.Abs(ns));
}
