namespace RtUdp.Core.Flows;

/// <summary>One flow's receive accounting, read from the flow table (see <see cref="SequenceTracker"/> for the definitions).</summary>
public sealed record FlowSnapshot
{
    public required uint FlowId { get; init; }
    public required ulong FirstSequence { get; init; }
    public required ulong HighestSequence { get; init; }
    public required long Received { get; init; }
    public required long Unique { get; init; }
    public required long Expected { get; init; }
    public required long Duplicates { get; init; }
    public required long Reordered { get; init; }
    public required long Stale { get; init; }
    public required long JitterNs { get; init; }
    public required long LastLatencyNs { get; init; }
    public required FlowLatencyKind LatencyKind { get; init; }
    public required FlowClockDomain Clock { get; init; }

    /// <summary>Sequence numbers from the first to the highest never received (a gap filled later stops counting).</summary>
    public long Lost => Expected - Unique;

    /// <summary>The flow table's slots in use.</summary>
    public static IReadOnlyList<FlowSnapshot> Read(FlowTable table)
    {
        var flows = new List<FlowSnapshot>();
        for (int i = 0; i < FlowTable.Capacity; i++)
        {
            ref FlowState f = ref table[i];
            if (Volatile.Read(ref f.InUse) == 0)
            {
                break;
            }
            flows.Add(new FlowSnapshot
            {
                FlowId = f.FlowId,
                FirstSequence = f.BaseSequence,
                HighestSequence = f.HighestSequence,
                // Read the totals before the parts, so a packet counted meanwhile never makes a part exceed its total.
                Received = Volatile.Read(ref f.Received),
                Expected = Volatile.Read(ref f.Expected),
                Unique = Volatile.Read(ref f.Unique),
                Duplicates = Volatile.Read(ref f.Duplicates),
                Reordered = Volatile.Read(ref f.Reordered),
                Stale = Volatile.Read(ref f.Stale),
                JitterNs = Rfc3550Jitter.ToNanoseconds(Volatile.Read(ref f.JitterScaled)),
                LastLatencyNs = Volatile.Read(ref f.LastLatencyNs),
                LatencyKind = (FlowLatencyKind)Volatile.Read(ref f.LatencyKind),
                Clock = (FlowClockDomain)Volatile.Read(ref f.ClockDomain),
            });
        }
        return flows;
    }
}
