using RtUdp.Core.Contract.Channels;

namespace RtUdp.Daemon.Outcomes;

/// <summary>Which outcomes a subscriber wants: all, or only one client's (<paramref name="ClientTag"/>), only the abnormal ones, or both.</summary>
public readonly record struct OutcomeFilter(int? ClientTag, bool OnlyAbnormal)
{
    public bool Accepts(in TxReport report) =>
        (ClientTag is not { } tag || report.ClientTag == tag)
        && (!OnlyAbnormal || IsAbnormal(report));

    /// <summary>Sent late, dropped, or arrived late at the engine.</summary>
    public static bool IsAbnormal(in TxReport report) =>
        (TxOutcome)report.Outcome != TxOutcome.Sent || (report.Flags & TxReportFlags.ArrivedLate) != 0;
}
