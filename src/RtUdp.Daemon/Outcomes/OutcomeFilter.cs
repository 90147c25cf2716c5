using RtUdp.Core.Contract.Channels;

namespace RtUdp.Daemon.Outcomes;

/// <summary>Which outcomes a subscriber wants: all, or only one client's (<paramref name="ClientTag"/>), only the abnormal ones, or both.</summary>
public readonly record struct OutcomeFilter(int? ClientTag, bool OnlyAbnormal)
{
    public bool Accepts(in TxReportRecord record) =>
        (ClientTag is not { } tag || record.ClientTag == tag)
        && (!OnlyAbnormal || IsAbnormal(record));

    /// <summary>Sent late, dropped, arrived late at the engine, or refused by the network after it left.</summary>
    public static bool IsAbnormal(in TxReportRecord record) =>
        record.IsNetworkError
        || (TxOutcome)record.Packet.Outcome != TxOutcome.Sent
        || (record.Packet.Flags & TxReportFlags.ArrivedLate) != 0;
}
