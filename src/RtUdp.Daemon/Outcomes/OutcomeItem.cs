using RtUdp.Core.Contract.Channels;

namespace RtUdp.Daemon.Outcomes;

/// <summary>One entry of a subscriber's queue: a packet's report or a network error, or a gap of <see cref="Missed"/> outcomes.</summary>
public readonly struct OutcomeItem
{
    private OutcomeItem(in TxReportRecord report, long missed, string? reason)
    {
        Report = report;
        Missed = missed;
        GapReason = reason;
    }

    public TxReportRecord Report { get; }

    /// <summary>Outcomes left out here; 0 for a report.</summary>
    public long Missed { get; }

    public string? GapReason { get; }

    public bool IsGap => Missed != 0;

    public static OutcomeItem Of(in TxReportRecord report) => new(report, 0, null);

    public static OutcomeItem Gap(long missed, string reason) => new(default, missed, reason);
}
