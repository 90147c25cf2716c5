using System.Runtime.CompilerServices;

namespace RtUdp.Core.Flows;

/// <summary>
/// RFC 3550 (6.4.1, A.8) interarrival jitter: J += (|D| - J) / 16, where D is the difference of two
/// successive packets' transit times (arrival minus send). Kept scaled by 16 in an integer, as the
/// RFC's reference code does, so no precision is lost to the division.
/// </summary>
public static class Rfc3550Jitter
{
    /// <summary>Folds one transit difference into the scaled jitter.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Update(ref long scaled, long transitDifferenceNs)
    {
        long d = transitDifferenceNs < 0 ? -transitDifferenceNs : transitDifferenceNs;
        scaled += d - ((scaled + 8) >> 4);
    }

    /// <summary>The jitter in ns from its scaled form.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long ToNanoseconds(long scaled) => scaled >> 4;
}
