namespace RtUdp.Core.Contract.Clients;

/// <summary>What was wrong with a client's TX ring (faults) or with one record (malformed).</summary>
public enum ClientTxProblem
{
    None = 0,

    // Faults: the ring cannot be framed any more; the engine stops reading it.
    TailMisaligned = 1,
    TailBehindHead = 2,
    TailBeyondCapacity = 3,
    BadKind = 4,
    PaddingBeyondTail = 5,
    HeaderBeyondTail = 6,
    HeaderBeyondEnd = 7,
    NegativeLength = 8,
    RecordBeyondTail = 9,
    RecordBeyondEnd = 10,
    HeadInvalid = 11,

    // Malformed: the record frames correctly but is not a packet the daemon would accept; it is skipped.
    PayloadTooLarge = 101,
    UnknownFlags = 102,
    ReservedNotZero = 103,
    BadPacketId = 104,
    DueNotPositive = 105,
    DueBeyondHorizon = 106,
}

/// <summary>Texts for <see cref="ClientTxProblem"/>: constants, so the engine faults a client without allocating.</summary>
public static class ClientTxProblems
{
    public static bool IsFault(ClientTxProblem problem) => problem is > ClientTxProblem.None and < ClientTxProblem.PayloadTooLarge;

    public static string Describe(ClientTxProblem problem) => problem switch
    {
        ClientTxProblem.None => "no problem",
        ClientTxProblem.TailMisaligned => "TX tail not 8-byte aligned",
        ClientTxProblem.TailBehindHead => "TX tail behind the engine's head",
        ClientTxProblem.TailBeyondCapacity => "TX tail more than the ring's capacity ahead of the head",
        ClientTxProblem.BadKind => "TX record kind neither 1 (packet) nor 2 (padding)",
        ClientTxProblem.PaddingBeyondTail => "TX padding record past the published tail",
        ClientTxProblem.HeaderBeyondTail => "TX record header past the published tail",
        ClientTxProblem.HeaderBeyondEnd => "TX record header across the end of the ring",
        ClientTxProblem.NegativeLength => "TX record with a negative payload length",
        ClientTxProblem.RecordBeyondTail => "TX record past the published tail",
        ClientTxProblem.RecordBeyondEnd => "TX record across the end of the ring",
        ClientTxProblem.HeadInvalid => "TX head in the region negative or not 8-byte aligned",
        ClientTxProblem.PayloadTooLarge => "payload over the channel's max payload",
        ClientTxProblem.UnknownFlags => "unknown flag bits",
        ClientTxProblem.ReservedNotZero => "reserved word not 0",
        ClientTxProblem.BadPacketId => "packet id " + Channels.PacketIdRule.Requirement,
        ClientTxProblem.DueNotPositive => "due time not positive",
        ClientTxProblem.DueBeyondHorizon => "due time beyond the scheduling horizon",
        _ => "unknown problem",
    };
}
