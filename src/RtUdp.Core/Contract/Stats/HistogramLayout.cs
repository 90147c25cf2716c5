using System.Numerics;
using System.Runtime.CompilerServices;

namespace RtUdp.Core.Contract.Stats;

/// <summary>
/// Bucket geometry shared by the shared-memory writer and the managed snapshot.
/// It is exactly HdrHistogram's layout for lowestDiscernibleValue = 1,
/// highestTrackableValue = 10^10 and 2 significant digits, so counts can later be
/// emitted as an HdrHistogram V2 payload without re-bucketing.
/// </summary>
internal static class HistogramLayout
{
    public const long LowestDiscernibleValue = 1;
    public const long HighestTrackableValue = 10_000_000_000;
    public const int SignificantValueDigits = 2;

    // HdrHistogram: largestValueWithSingleUnitResolution = 2 * 10^2 = 200, rounded up to a power of two.
    public const int SubBucketCount = 256;
    public const int SubBucketHalfCount = SubBucketCount / 2;
    public const int SubBucketHalfCountMagnitude = 7;
    public const long SubBucketMask = SubBucketCount - 1;

    // HdrHistogram's getBucketsNeededToCoverValue: the first bucket covers [0, 2^8) and each
    // further bucket doubles the range. 2^33 <= 10^10 < 2^34, so 26 doublings are needed
    // beyond the first: 27 buckets. A test re-derives this with HdrHistogram's loop.
    public const int BucketCount = 27;

    // Bucket 0 uses all 256 sub-buckets, every later bucket only its upper half, hence
    // (BucketCount + 1) * SubBucketHalfCount (HdrHistogram's countsArrayLength).
    public const int CountsLength = (BucketCount + 1) * SubBucketHalfCount;

    // Largest value the counts array can represent: top sub-bucket of the top bucket,
    // i.e. 2^34 - 1. Values above it are clamped here so indexing can never go out of range.
    public const long MaxIndexableValue = ((long)SubBucketCount << (BucketCount - 1)) - 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int BucketIndex(long value) =>
        63 - BitOperations.LeadingZeroCount((ulong)(value | SubBucketMask)) - SubBucketHalfCountMagnitude;

    /// <summary>Counts index for <paramref name="value"/> in [0, <see cref="MaxIndexableValue"/>].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int CountsIndex(long value)
    {
        int bucketIndex = BucketIndex(value);
        int subBucketIndex = (int)(value >> bucketIndex);
        return ((bucketIndex + 1) << SubBucketHalfCountMagnitude) + (subBucketIndex - SubBucketHalfCount);
    }

    /// <summary>Lowest value that maps to counts index <paramref name="index"/>.</summary>
    public static long ValueFromIndex(int index)
    {
        int bucketIndex = (index >> SubBucketHalfCountMagnitude) - 1;
        int subBucketIndex = (index & (SubBucketHalfCount - 1)) + SubBucketHalfCount;
        if (bucketIndex < 0)
        {
            // Indices below 128 belong to the lower half of bucket 0, which the shifted
            // formula would otherwise attribute to a non-existent bucket -1.
            subBucketIndex -= SubBucketHalfCount;
            bucketIndex = 0;
        }
        return (long)subBucketIndex << bucketIndex;
    }

    public static long LowestEquivalentValue(long value)
    {
        int bucketIndex = BucketIndex(value);
        return (value >> bucketIndex) << bucketIndex;
    }

    // Cannot overflow: the lowest equivalent value is s << b with s <= 255, so the result is
    // at most (256 << b) - 1 with b <= 55.
    public static long HighestEquivalentValue(long value)
    {
        int bucketIndex = BucketIndex(value);
        return ((value >> bucketIndex) << bucketIndex) + (1L << bucketIndex) - 1;
    }
}
