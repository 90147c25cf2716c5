using System.Runtime.InteropServices;
using RtUdp.Core.Contract.Stats;

namespace RtUdp.Core.Tests.Stats;

public sealed unsafe class LatencyHistogramTests : IDisposable
{
    private const int SampleCount = 100_000;
    private static readonly double[] Percentiles = [0, 1, 10, 50, 90, 99, 99.9, 99.99, 100];

    private readonly List<nint> _blocks = [];

    public void Dispose()
    {
        foreach (nint block in _blocks)
        {
            NativeMemory.AlignedFree((void*)block);
        }
        _blocks.Clear();
    }

    private LatencyHistogram NewHistogram()
    {
        byte* block = (byte*)NativeMemory.AlignedAlloc(LatencyHistogram.BlockSize, LatencyHistogram.BlockAlignment);
        _blocks.Add((nint)block);
        // Poison so the tests also prove Reset initialises every byte that matters.
        NativeMemory.Fill(block, LatencyHistogram.BlockSize, 0xAB);
        var histogram = LatencyHistogram.Attach(block);
        histogram.Reset();
        return histogram;
    }

    private static long[] Generate(string distribution, int seed, int count)
    {
        var rng = new Random(seed);
        var samples = new long[count];
        double logMax = Math.Log(1e10);
        for (int i = 0; i < count; i++)
        {
            samples[i] = distribution switch
            {
                "logUniform" => (long)Math.Round(Math.Exp(rng.NextDouble() * logMax)),
                "exponential" => (long)(-50_000 * Math.Log(1 - rng.NextDouble())),
                "constant" => 123_456,
                "tiny" => rng.Next(0, 301),
                "bimodal" => rng.NextDouble() < 0.8
                    ? rng.NextInt64(5_000, 50_000)
                    : rng.NextInt64(1_000_000, 20_000_000),
                _ => throw new ArgumentOutOfRangeException(nameof(distribution)),
            };
        }
        return samples;
    }

    // Independent of the implementation's arithmetic on purpose: nearest-rank on the sorted data.
    private static long ExactPercentile(long[] sorted, double percentile)
    {
        if (percentile == 0)
        {
            return sorted[0];
        }
        long rank = (long)Math.Ceiling((decimal)percentile * sorted.Length / 100m);
        return sorted[Math.Clamp(rank, 1, sorted.Length) - 1];
    }

    private LatencyHistogram Record(long[] samples)
    {
        var histogram = NewHistogram();
        foreach (long s in samples)
        {
            histogram.Record(s);
        }
        return histogram;
    }

    private static void AssertSnapshotsEqual(HistogramSnapshot expected, HistogramSnapshot actual)
    {
        Assert.True(expected.Counts.SequenceEqual(actual.Counts), "bucket counts differ");
        Assert.Equal(expected.TotalCount, actual.TotalCount);
        Assert.Equal(expected.Sum, actual.Sum);
        Assert.Equal(expected.Min, actual.Min);
        Assert.Equal(expected.Max, actual.Max);
        Assert.Equal(expected.BelowZeroCount, actual.BelowZeroCount);
        Assert.Equal(expected.OverflowCount, actual.OverflowCount);
    }

    [Theory]
    [InlineData("logUniform", 1)]
    [InlineData("exponential", 2)]
    [InlineData("constant", 3)]
    [InlineData("tiny", 4)]
    [InlineData("bimodal", 5)]
    public void Percentiles_are_within_one_percent_of_exact(string distribution, int seed)
    {
        long[] samples = Generate(distribution, seed, SampleCount);
        HistogramSnapshot snapshot = Record(samples).Snapshot();
        long[] sorted = (long[])samples.Clone();
        Array.Sort(sorted);

        foreach (double p in Percentiles)
        {
            long expected = ExactPercentile(sorted, p);
            long actual = snapshot.ValueAtPercentile(p);
            if (expected < 256)
            {
                Assert.Equal(expected, actual);
            }
            else
            {
                Assert.True(Math.Abs(actual - expected) <= expected * 0.01,
                    $"p{p}: expected {expected}, got {actual}");
                // Stronger: HdrHistogram semantics report the top of the sample's own bucket.
                Assert.InRange(actual, expected, HistogramSnapshot.HighestEquivalentValue(expected));
            }
        }
    }

    [Theory]
    [InlineData("logUniform", 11)]
    [InlineData("exponential", 12)]
    [InlineData("constant", 13)]
    [InlineData("tiny", 14)]
    [InlineData("bimodal", 15)]
    public void Min_max_count_and_mean_are_exact(string distribution, int seed)
    {
        long[] samples = Generate(distribution, seed, SampleCount);
        HistogramSnapshot snapshot = Record(samples).Snapshot();

        long sum = samples.Sum();
        Assert.Equal(samples.Min(), snapshot.Min);
        Assert.Equal(samples.Max(), snapshot.Max);
        Assert.Equal(SampleCount, snapshot.TotalCount);
        Assert.Equal(sum, snapshot.Sum);
        Assert.Equal((double)sum / SampleCount, snapshot.Mean);
        Assert.Equal(0, snapshot.BelowZeroCount);
        Assert.Equal(0, snapshot.OverflowCount);
    }

    [Theory]
    [InlineData(0L, 0, 0L, 0L)]
    [InlineData(1L, 1, 1L, 1L)]
    [InlineData(255L, 255, 255L, 255L)]
    [InlineData(256L, 256, 256L, 257L)]
    [InlineData(257L, 256, 256L, 257L)]
    [InlineData(10_000_000_000L, 3477, 9_999_220_736L, 10_066_329_599L)]
    public void Boundary_values_land_in_the_hdr_bucket(long value, int index, long low, long high)
    {
        var histogram = NewHistogram();
        histogram.Record(value);
        HistogramSnapshot snapshot = histogram.Snapshot();

        Assert.Equal(1, snapshot.Counts[index]);
        Assert.Equal((low, high, 1L), Assert.Single(snapshot.NonEmptyBuckets()));
        Assert.Equal(low, HistogramSnapshot.LowestEquivalentValue(value));
        Assert.Equal(high, HistogramSnapshot.HighestEquivalentValue(value));
        Assert.Equal(value, snapshot.Min);
        Assert.Equal(value, snapshot.Max);
        Assert.Equal(value, snapshot.ValueAtPercentile(0));
        Assert.Equal(value, snapshot.ValueAtPercentile(50));
        Assert.Equal(value, snapshot.ValueAtPercentile(100));
        Assert.Equal(0, snapshot.OverflowCount);
        Assert.Equal(0, snapshot.BelowZeroCount);
    }

    [Fact]
    public void Recording_a_value_n_times_in_one_call_equals_n_single_records()
    {
        LatencyHistogram one = NewHistogram();
        LatencyHistogram many = NewHistogram();
        (long Value, long Count)[] runs = [(5_000, 64), (-12, 3), (0, 1), (20_000_000_000, 2), (123_456, 17), (5_000, 1), (long.MinValue / 4, 1)];
        foreach ((long value, long count) in runs)
        {
            for (long i = 0; i < count; i++)
            {
                one.Record(value);
            }
            many.Record(value, count);
        }
        many.Record(77, 0);
        HistogramSnapshot a = one.Snapshot();
        HistogramSnapshot b = many.Snapshot();
        Assert.Equal((a.TotalCount, a.Sum, a.Min, a.Max, a.BelowZeroCount, a.OverflowCount), (b.TotalCount, b.Sum, b.Min, b.Max, b.BelowZeroCount, b.OverflowCount));
        Assert.True(a.Counts.SequenceEqual(b.Counts));
    }

    [Fact]
    public void Values_above_highest_trackable_are_counted_as_overflow_in_the_last_bucket()
    {
        var histogram = NewHistogram();
        histogram.Record(10);
        histogram.Record(LatencyHistogram.HighestTrackableValue + 1);
        histogram.Record(long.MaxValue);
        HistogramSnapshot snapshot = histogram.Snapshot();

        Assert.Equal(3, snapshot.TotalCount);
        Assert.Equal(2, snapshot.OverflowCount);
        Assert.Equal(1, snapshot.Counts[LatencyHistogram.CountsLength - 1]);
        Assert.Equal(1, snapshot.Counts[3477]);
        Assert.Equal(long.MaxValue, snapshot.Max);
        Assert.Equal(10, snapshot.Min);
        Assert.Equal(long.MaxValue, snapshot.ValueAtPercentile(100));
        Assert.Equal(10, snapshot.ValueAtPercentile(0));
        Assert.Equal(10, snapshot.ValueAtPercentile(33));
        Assert.Equal(10_066_329_599, snapshot.ValueAtPercentile(50));
    }

    [Fact]
    public void Percentile_in_the_overflow_slot_reports_max()
    {
        var histogram = NewHistogram();
        histogram.Record(10);
        histogram.Record(long.MaxValue / 2);
        histogram.Record(long.MaxValue);
        HistogramSnapshot snapshot = histogram.Snapshot();

        // Rank 2 of 3 is not the top rank but sits in the slot that absorbs clamped values,
        // whose bucket bound (2^34 - 1) would understate it.
        Assert.Equal(long.MaxValue, snapshot.ValueAtPercentile(60));
    }

    [Fact]
    public void Negative_values_are_recorded_as_zero_and_counted()
    {
        var histogram = NewHistogram();
        histogram.Record(-5);
        histogram.Record(-1);
        histogram.Record(long.MinValue);
        histogram.Record(10);
        HistogramSnapshot snapshot = histogram.Snapshot();

        Assert.Equal(4, snapshot.TotalCount);
        Assert.Equal(3, snapshot.BelowZeroCount);
        Assert.Equal(0, snapshot.OverflowCount);
        Assert.Equal(3, snapshot.Counts[0]);
        Assert.Equal(1, snapshot.Counts[10]);
        Assert.Equal(long.MinValue, snapshot.Min);
        Assert.Equal(10, snapshot.Max);
        Assert.Equal(long.MinValue, snapshot.ValueAtPercentile(0));
        Assert.Equal(0, snapshot.ValueAtPercentile(50));
        Assert.Equal(10, snapshot.ValueAtPercentile(100));
    }

    [Fact]
    public void Only_negative_values_never_report_above_max()
    {
        var histogram = NewHistogram();
        histogram.Record(-7);
        histogram.Record(-3);
        HistogramSnapshot snapshot = histogram.Snapshot();

        Assert.Equal(-7, snapshot.ValueAtPercentile(0));
        Assert.Equal(-3, snapshot.ValueAtPercentile(50));
        Assert.Equal(-3, snapshot.ValueAtPercentile(100));
    }

    [Fact]
    public void Empty_histogram_is_well_defined()
    {
        HistogramSnapshot snapshot = NewHistogram().Snapshot();

        Assert.Equal(0, snapshot.TotalCount);
        Assert.Equal(long.MaxValue, snapshot.Min);
        Assert.Equal(long.MinValue, snapshot.Max);
        Assert.Equal(0.0, snapshot.Mean);
        Assert.Equal(0, snapshot.ValueAtPercentile(50));
        Assert.Empty(snapshot.NonEmptyBuckets());
        Assert.Throws<ArgumentOutOfRangeException>(() => snapshot.ValueAtPercentile(double.NaN));
    }

    [Fact]
    public void Reset_clears_recorded_data()
    {
        var histogram = NewHistogram();
        histogram.Record(-1);
        histogram.Record(long.MaxValue);
        histogram.Reset();

        AssertSnapshotsEqual(new HistogramSnapshot(), histogram.Snapshot());
    }

    [Fact]
    public void Attach_rejects_null_and_misaligned_blocks()
    {
        byte* block = (byte*)NativeMemory.AlignedAlloc(LatencyHistogram.BlockSize + 64, 64);
        _blocks.Add((nint)block);

        Assert.Throws<ArgumentNullException>(() => LatencyHistogram.Attach(null));
        Assert.Throws<ArgumentException>(() => LatencyHistogram.Attach(block + 8));
        Assert.True(LatencyHistogram.Attach(block).IsAttached);
        Assert.False(default(LatencyHistogram).IsAttached);
    }

    [Fact]
    public void RecordConcurrent_from_four_threads_matches_single_threaded_reference()
    {
        const int threads = 4;
        const int perThread = 250_000;
        long[][] data = new long[threads][];
        for (int t = 0; t < threads; t++)
        {
            data[t] = Generate("logUniform", 100 + t, perThread);
            // Exercise the rare-path counters and the min/max CAS loops under contention too.
            data[t][t * 1000] = -t - 1;
            data[t][(t * 1000) + 1] = LatencyHistogram.HighestTrackableValue + t + 1;
        }

        var concurrent = NewHistogram();
        using var start = new Barrier(threads);
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            long[] mine = data[t];
            workers[t] = new Thread(() =>
            {
                start.SignalAndWait();
                foreach (long v in mine)
                {
                    concurrent.RecordConcurrent(v);
                }
            });
            workers[t].Start();
        }
        foreach (Thread w in workers)
        {
            w.Join();
        }

        var reference = NewHistogram();
        foreach (long[] chunk in data)
        {
            foreach (long v in chunk)
            {
                reference.Record(v);
            }
        }

        HistogramSnapshot actual = concurrent.Snapshot();
        Assert.Equal(threads * perThread, actual.TotalCount);
        Assert.Equal(threads, actual.BelowZeroCount);
        Assert.Equal(threads, actual.OverflowCount);
        AssertSnapshotsEqual(reference.Snapshot(), actual);
    }

    [Fact]
    public void Layout_constants_match_hdr_histogram_derivation()
    {
        // HdrHistogram: largestValueWithSingleUnitResolution = 2 * 10^digits, rounded up to 2^n.
        int subBucketCountMagnitude = (int)Math.Ceiling(Math.Log2(2 * Math.Pow(10, LatencyHistogram.SignificantValueDigits)));
        int subBucketCount = 1 << subBucketCountMagnitude;
        Assert.Equal(256, subBucketCount);

        // HdrHistogram's getBucketsNeededToCoverValue with unitMagnitude = 0.
        long smallestUntrackable = subBucketCount;
        int buckets = 1;
        while (smallestUntrackable <= LatencyHistogram.HighestTrackableValue)
        {
            smallestUntrackable <<= 1;
            buckets++;
        }
        Assert.Equal(LatencyHistogram.CountsLength, (buckets + 1) * (subBucketCount / 2));
        Assert.Equal(0, LatencyHistogram.BlockSize % 64);
        Assert.Equal(LatencyHistogram.HeaderSize + (LatencyHistogram.CountsLength * sizeof(long)), LatencyHistogram.BlockSize);
        Assert.Equal(LatencyHistogram.CountsLength - 1, HistogramLayout.CountsIndex(HistogramLayout.MaxIndexableValue));
    }

    [Fact]
    public void Buckets_tile_the_value_range_without_gaps()
    {
        for (int i = 0; i < LatencyHistogram.CountsLength; i++)
        {
            long low = HistogramLayout.ValueFromIndex(i);
            long high = HistogramSnapshot.HighestEquivalentValue(low);
            Assert.Equal(i, HistogramLayout.CountsIndex(low));
            Assert.Equal(i, HistogramLayout.CountsIndex(high));
            if (i + 1 < LatencyHistogram.CountsLength)
            {
                Assert.Equal(high + 1, HistogramLayout.ValueFromIndex(i + 1));
            }
        }
    }

    [Fact]
    public void Equivalent_value_ranges_contain_the_value_and_are_narrow()
    {
        var values = new List<long>();
        for (long v = 0; v <= 100_000; v++)
        {
            values.Add(v);
        }
        for (int k = 1; k < 63; k++)
        {
            long p = 1L << k;
            values.AddRange([p - 1, p, p + 1]);
        }
        values.Add(long.MaxValue);
        var rng = new Random(42);
        for (int i = 0; i < 200_000; i++)
        {
            values.Add((long)Math.Exp(rng.NextDouble() * Math.Log(long.MaxValue)));
        }

        foreach (long v in values)
        {
            long low = HistogramSnapshot.LowestEquivalentValue(v);
            long high = HistogramSnapshot.HighestEquivalentValue(v);
            Assert.InRange(v, low, high);
            if (v < 256)
            {
                Assert.Equal(v, low);
                Assert.Equal(v, high);
            }
            else
            {
                // (high - low + 1) / v <= 1/128, kept in integers.
                Assert.True((high - low + 1) <= v / 128, $"bucket of {v} is [{low}, {high}]");
            }
            Assert.Equal(low, HistogramSnapshot.LowestEquivalentValue(high));
            if (v <= HistogramLayout.MaxIndexableValue)
            {
                Assert.Equal(low, HistogramLayout.ValueFromIndex(HistogramLayout.CountsIndex(v)));
            }
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => HistogramSnapshot.LowestEquivalentValue(-1));
    }

    [Fact]
    public void Add_merges_snapshots_like_recording_into_one()
    {
        long[] a = Generate("bimodal", 7, SampleCount);
        long[] b = Generate("exponential", 8, SampleCount);
        b[0] = -42;
        b[1] = long.MaxValue / 4;

        HistogramSnapshot merged = Record(a).Snapshot();
        merged.Add(Record(b).Snapshot());
        HistogramSnapshot expected = Record([.. a, .. b]).Snapshot();

        AssertSnapshotsEqual(expected, merged);
        foreach (double p in Percentiles)
        {
            Assert.Equal(expected.ValueAtPercentile(p), merged.ValueAtPercentile(p));
        }

        var accumulator = new HistogramSnapshot();
        accumulator.Add(Record(a).Snapshot());
        accumulator.Add(Record(b).Snapshot());
        AssertSnapshotsEqual(expected, accumulator);
    }

    [Fact]
    public void Record_does_not_allocate()
    {
        var histogram = NewHistogram();
        // Warm up so tiering/JIT work is not attributed to the measured loop.
        for (int i = 0; i < 1_000; i++)
        {
            histogram.Record(i);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        // Varied values (including negatives and overflow) so every arithmetic path runs.
        ulong state = 1;
        for (int i = 0; i < 1_000_000; i++)
        {
            state = unchecked((state * 6364136223846793005UL) + 1442695040888963407UL);
            histogram.Record((long)(state >> 29) - (1L << 32));
        }
        long after = GC.GetAllocatedBytesForCurrentThread();

        Assert.Equal(before, after);
        Assert.Equal(1_001_000, histogram.Snapshot().TotalCount);
    }
}
