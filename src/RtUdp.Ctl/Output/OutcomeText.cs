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
        if (record.RecordCase == OutcomeRecord.RecordOneofCase.NetworkError)
        {
            return Line(record.NetworkError);
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

    /// <summary>"packet 7: sent, then refused by 10.0.0.2 (port unreachable, ECONNREFUSED) 85 us after it left".</summary>
    public static string Line(NetworkError e)
    {
        string what = e.Kind switch
        {
            NetworkErrorKind.Refused => "refused by",
            NetworkErrorKind.HostUnreachable => "host unreachable, said",
            NetworkErrorKind.NetUnreachable => "network unreachable, said",
            NetworkErrorKind.HostDown => "host down, said",
            NetworkErrorKind.TooBig => $"too big for a link on the way (MTU {e.Mtu}), said",
            _ => "network error from",
        };
        string icmp = $"{(e.Icmp6 ? "ICMPv6" : "ICMP")} type {e.IcmpType} code {e.IcmpCode}, {e.Error}";
        string who = e.Offender.Length > 0 ? e.Offender : "an unknown host";
        if (e.PacketId == 0)
        {
            return $"network error matched to no packet sent recently: {what} {who} ({icmp})";
        }
        string match = e.Attribution == NetworkErrorAttribution.ByOrder ? "; matched by order among packets with the same head" : "";
        return $"packet {e.PacketId}: sent, then {what} {who} ({icmp}) {Text.Ns(e.ReportedMonotonicNs - e.SentMonotonicNs)} after it left{match}";
    }

    private static string Signed(long ns) => (ns < 0 ? "-" : "+") + Text.Ns(Math.Abs(ns));
}
