using System.Runtime.CompilerServices;

namespace RtUdp.Core.Timestamping;

/// <summary>
/// How far another clock is ahead of CLOCK_MONOTONIC at one moment:
/// <c>other = monotonic + OffsetNs</c>, to within ±<see cref="UncertaintyNs"/>. Drifts with the
/// clocks' relative frequency error, so re-sample periodically (see <see cref="SeqLockedOffset"/>).
/// </summary>
public readonly struct ClockOffset
{
    public ClockOffset(long offsetNs, long uncertaintyNs, long sampledAtMonotonicNs)
    {
        OffsetNs = offsetNs;
        UncertaintyNs = uncertaintyNs;
        SampledAtMonotonicNs = sampledAtMonotonicNs;
    }

    /// <summary>other − monotonic, in nanoseconds.</summary>
    public long OffsetNs { get; }

    /// <summary>Half-width of the interval the offset is known to lie in.</summary>
    public long UncertaintyNs { get; }

    /// <summary>CLOCK_MONOTONIC when the offset was measured; 0 for "never measured".</summary>
    public long SampledAtMonotonicNs { get; }

    public bool IsValid => SampledAtMonotonicNs != 0;

    /// <summary>Converts a reading of the other clock to CLOCK_MONOTONIC.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long ToMonotonic(long stampNs) => stampNs - OffsetNs;

    /// <summary>Converts CLOCK_MONOTONIC to the other clock (e.g. a launch time for SCM_TXTIME).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long FromMonotonic(long monoNs) => monoNs + OffsetNs;
}
