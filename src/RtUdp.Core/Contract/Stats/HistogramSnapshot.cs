namespace RtUdp.Core.Contract.Stats;

/// <summary>
/// Managed copy of a <see cref="LatencyHistogram"/> (same bucket
/// layout), used for percentile queries, export, and merging across channels.
/// </summary>
public sealed class HistogramSnapshot
{
    private readonly long[] _counts;

    /// <summary>Creates an empty snapshot, e.g. as the accumulator for <see cref="Add"/>.</summary>
    public HistogramSnapshot()
        : this(new long[LatencyHistogram.CountsLength], 0, 0, long.MaxValue, long.MinValue, 0, 0)
    {
    }

    internal HistogramSnapshot(long[] counts, long totalCount, long sum, long min, long max, long belowZeroCount, long overflowCount)
    {
        _counts = counts;
        TotalCount = totalCount;
        Sum = sum;
        Min = min;
        Max = max;
        BelowZeroCount = belowZeroCount;
        OverflowCount = overflowCount;
    }

    /// <summary>Per-bucket counts in HdrHistogram counts-array order.</summary>
    public ReadOnlySpan<long> Counts => _counts;

    /// <summary>Sum of <see cref="Counts"/> (not the writer's TotalCount field, which may lag).</summary>
    public long TotalCount { get; private set; }

    /// <summary>Unchecked sum of raw values; wraps only for absurd inputs (~292 years total).</summary>
    public long Sum { get; private set; }

    /// <summary>Exact minimum recorded value; <see cref="long.MaxValue"/> when empty.</summary>
    public long Min { get; private set; }

    /// <summary>Exact maximum recorded value; <see cref="long.MinValue"/> when empty.</summary>
    public long Max { get; private set; }

    public long BelowZeroCount { get; private set; }

    public long OverflowCount { get; private set; }

    /// <summary>Arithmetic mean of raw values; 0 when empty.</summary>
    public double Mean => TotalCount == 0 ? 0.0 : (double)Sum / TotalCount;

    public static long LowestEquivalentValue(long value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        return HistogramLayout.LowestEquivalentValue(value);
    }

    public static long HighestEquivalentValue(long value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        return HistogramLayout.HighestEquivalentValue(value);
    }

    /// <summary>
    /// HdrHistogram semantics: the highest equivalent value of the bucket holding the
    /// ceil(percentile/100 * total)-th smallest sample, except that percentile 0 returns the
    /// exact <see cref="Min"/>, no result exceeds the exact <see cref="Max"/>, and the top rank or the
    /// last (overflow-absorbing) slot returns Max itself.
    /// Percentiles outside [0, 100] are clamped. Returns 0 when empty.
    /// </summary>
    public long ValueAtPercentile(double percentile)
    {
        if (double.IsNaN(percentile))
        {
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "Percentile must be a number.");
        }
        if (TotalCount == 0)
        {
            return 0;
        }
        percentile = Math.Clamp(percentile, 0.0, 100.0);
        if (percentile == 0.0)
        {
            return Min;
        }

        // decimal treats 99.9 as exactly 99.9, so ranks like 99.9% of 100000 do not drift to
        // 99901 through binary rounding. (decimal)double keeps 15 significant digits.
        long rank = (long)Math.Ceiling((decimal)percentile * TotalCount / 100m);
        rank = Math.Clamp(rank, 1, TotalCount);
        if (rank == TotalCount)
        {
            return Max;
        }

        long seen = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                // The last slot also absorbs everything beyond the array's range, so its
                // bucket bound says nothing; Max is the only honest upper bound there.
                if (i == _counts.Length - 1)
                {
                    return Max;
                }
                long high = HistogramLayout.HighestEquivalentValue(HistogramLayout.ValueFromIndex(i));
                return Math.Min(high, Max);
            }
        }
        return Max;
    }

    /// <summary>Non-empty buckets in ascending value order, with inclusive value bounds.</summary>
    public IEnumerable<(long lowValue, long highValue, long count)> NonEmptyBuckets()
    {
        for (int i = 0; i < _counts.Length; i++)
        {
            long count = _counts[i];
            if (count != 0)
            {
                long low = HistogramLayout.ValueFromIndex(i);
                yield return (low, HistogramLayout.HighestEquivalentValue(low), count);
            }
        }
    }

    /// <summary>Merges <paramref name="other"/> into this snapshot (e.g. to aggregate channels).</summary>
    public void Add(HistogramSnapshot other)
    {
        ArgumentNullException.ThrowIfNull(other);
        long[] src = other._counts;
        for (int i = 0; i < _counts.Length; i++)
        {
            _counts[i] += src[i];
        }
        TotalCount += other.TotalCount;
        Sum = unchecked(Sum + other.Sum);
        Min = Math.Min(Min, other.Min);
        Max = Math.Max(Max, other.Max);
        BelowZeroCount += other.BelowZeroCount;
        OverflowCount += other.OverflowCount;
    }
}
