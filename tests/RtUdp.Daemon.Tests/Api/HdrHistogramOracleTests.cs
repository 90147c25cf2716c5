using System.Runtime.InteropServices;
using System.Text;
using HdrHistogram;
using RtUdp.Core.Contract.Stats;
using RtUdp.Daemon.Api;

namespace RtUdp.Daemon.Tests.Api;

/// <summary>
/// <see cref="HdrHistogramEncoding"/> against HdrHistogram.NET as the reference: what we encode it decodes
/// to the counts and percentiles of its own histogram of the same samples, and what it encodes we decode
/// to our counts. Both go through its histogram log (the base64 compressed V2 form readers exchange).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed unsafe class HdrHistogramOracleTests
{
    /// <summary>
    /// Percentiles whose rank is a whole number for sample counts that are multiples of 128: HdrHistogram.NET
    /// rounds the rank, we take its ceiling, which agree only there.
    /// </summary>
    private static readonly double[] Percentiles = [12.5, 25, 50, 75, 87.5, 93.75, 99.21875];

    public static TheoryData<string> SampleSets() => ["log-uniform 1 ns to 10 s", "one value", "bucket edges and extremes"];

    [Theory]
    [MemberData(nameof(SampleSets))]
    public void HdrHistogram_decodes_our_encoding_to_its_own_counts_and_percentiles(string set)
    {
        long[] values = Samples(set);
        HistogramSnapshot ours = Snapshot(values);
        LongHistogram reference = Reference(values);

        HistogramBase decoded = ReadWithReference(HdrHistogramEncoding.EncodeV2Compressed(ours));

        Assert.Equal(HdrHistogramEncoding.HighestTrackableValue, decoded.HighestTrackableValue);
        Assert.Equal(HdrHistogramEncoding.SignificantValueDigits, decoded.NumberOfSignificantValueDigits);
        Assert.Equal(reference.TotalCount, decoded.TotalCount);
        Assert.Equal(values.LongLength, decoded.TotalCount);
        foreach (long value in values.Distinct())
        {
            Assert.Equal(reference.GetCountAtValue(value), decoded.GetCountAtValue(value));
        }
        foreach (double p in Percentiles)
        {
            long expected = reference.GetValueAtPercentile(p);
            Assert.Equal(expected, decoded.GetValueAtPercentile(p));
            // Ours reports the bucket's highest equivalent value too, but never more than the exact maximum.
            Assert.Equal(Math.Min(expected, ours.Max), ours.ValueAtPercentile(p));
        }
    }

    [Theory]
    [MemberData(nameof(SampleSets))]
    public void We_decode_HdrHistograms_encoding_to_our_counts(string set)
    {
        long[] values = Samples(set);
        HistogramSnapshot ours = Snapshot(values);

        long[] decoded = HdrHistogramEncoding.DecodeCounts(WriteWithReference(Reference(values)));

        int used = ours.Counts.LastIndexOfAnyExcept(0L) + 1;
        Assert.Equal(ours.Counts[..used].ToArray(), decoded);
    }

    [Fact]
    public void The_uncompressed_form_holds_the_same_counts_as_the_compressed_one()
    {
        HistogramSnapshot ours = Snapshot(Samples("log-uniform 1 ns to 10 s"));
        Assert.Equal(
            HdrHistogramEncoding.DecodeCounts(HdrHistogramEncoding.EncodeV2Compressed(ours)),
            HdrHistogramEncoding.DecodeCounts(HdrHistogramEncoding.EncodeV2(ours)));
    }

    private static long[] Samples(string set)
    {
        switch (set)
        {
            case "log-uniform 1 ns to 10 s":
                var random = new Random(20261203);
                return Enumerable.Range(0, 80 * 128)
                    .Select(_ => (long)Math.Pow(10, random.NextDouble() * 10))
                    .ToArray();
            case "one value":
                return Enumerable.Repeat(1_234_567L, 8 * 128).ToArray();
            case "bucket edges and extremes":
                long[] edges = [0, 1, 2, 127, 128, 255, 256, 257, 511, 512, 1023, 1024, 4095, 65_535, 1_000_000_000, HdrHistogramEncoding.HighestTrackableValue];
                return Enumerable.Repeat(edges, 128 / edges.Length).SelectMany(e => e).ToArray();
            default:
                throw new ArgumentOutOfRangeException(nameof(set), set, null);
        }
    }

    private static HistogramSnapshot Snapshot(long[] values)
    {
        byte* block = (byte*)NativeMemory.AlignedAlloc(LatencyHistogram.BlockSize, LatencyHistogram.BlockAlignment);
        try
        {
            LatencyHistogram histogram = LatencyHistogram.Attach(block);
            histogram.Reset();
            foreach (long value in values)
            {
                histogram.Record(value);
            }
            return histogram.Snapshot();
        }
        finally
        {
            NativeMemory.AlignedFree(block);
        }
    }

    private static LongHistogram Reference(long[] values)
    {
        var histogram = new LongHistogram(HdrHistogramEncoding.LowestDiscernibleValue, HdrHistogramEncoding.HighestTrackableValue, HdrHistogramEncoding.SignificantValueDigits);
        foreach (long value in values)
        {
            histogram.RecordValue(value);
        }
        return histogram;
    }

    /// <summary>Our compressed encoding as a line of a histogram log, read by HdrHistogram.NET.</summary>
    private static HistogramBase ReadWithReference(byte[] compressed)
    {
        string log = $"0.000,1.000,0.000,{Convert.ToBase64String(compressed)}\n";
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(log));
        using var reader = new HistogramLogReader(stream);
        return Assert.Single(reader.ReadHistograms().ToList());
    }

    /// <summary>HdrHistogram.NET's compressed encoding, taken from the histogram log it writes.</summary>
    private static byte[] WriteWithReference(HistogramBase histogram)
    {
        using var stream = new MemoryStream();
        using (var writer = new HistogramLogWriter(stream))
        {
            writer.Write(DateTime.UnixEpoch, histogram);
        }
        stream.Position = 0;
        using var text = new StreamReader(stream, detectEncodingFromByteOrderMarks: true);
        string line = text.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        return Convert.FromBase64String(line.Split(',')[3]);
    }
}
