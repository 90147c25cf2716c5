using System.Globalization;
using RtUdp.Core.Contract.Stats;

namespace RtUdp.Daemon.Metrics;

/// <summary>
/// The Prometheus buckets of the latency histograms and the mapping of the engine's HDR buckets onto them.
/// </summary>
/// <remarks>
/// Bounds (seconds): 1 µs to 100 ms, six per decade on the E6 series (1, 1.5, 2.2, 3.3, 4.7, 6.8),
/// so quantiles resolve microseconds to milliseconds within ~±20 % before interpolation; +Inf holds
/// the rest (up to the HDR range of 10 s, and beyond it).
/// The engine records into HDR buckets of at most 1/128 relative width (1 ns resolution below 256 ns).
/// Each HDR bucket is observed at its median equivalent value (lowest + half its width), so a Prometheus
/// bucket's count is exact except for the one HDR bucket that may straddle its bound, and <c>_sum</c>
/// is the sum of the samples' bucket midpoints: within half an HDR bucket (&lt; 0.4 %) of the exact sum per
/// sample. Negative samples (counted in the HDR zero bucket) are observed at 0.
/// </remarks>
internal static class LatencyBuckets
{
    private static readonly double[] Mantissas = [1.0, 1.5, 2.2, 3.3, 4.7, 6.8];

    /// <summary>The bucket upper bounds in seconds, ascending.</summary>
    public static readonly double[] Bounds = CreateBounds();

    /// <summary>The value (ns) each HDR counts-array slot is observed at.</summary>
    private static readonly long[] SlotValues = CreateSlotValues();

    public static int SlotCount => SlotValues.Length;

    public static double SlotSeconds(int slot) => SlotValues[slot] / 1e9;

    private static double[] CreateBounds()
    {
        var bounds = new List<double>();
        for (int exponent = -6; exponent < -1; exponent++)
        {
            foreach (double m in Mantissas)
            {
                // Parsed from text so that the exposition shows "2.2e-05", not 2.2000000000000002e-05.
                bounds.Add(double.Parse(FormattableString.Invariant($"{m}e{exponent}"), CultureInfo.InvariantCulture));
            }
        }
        bounds.Add(0.1);
        return [.. bounds];
    }

    /// <summary>Walks the HDR layout bucket by bucket (the next bucket starts one above this one's highest equivalent value).</summary>
    private static long[] CreateSlotValues()
    {
        int length = new HistogramSnapshot().Counts.Length;
        var values = new long[length];
        long low = 0;
        for (int slot = 0; slot < length; slot++)
        {
            long high = HistogramSnapshot.HighestEquivalentValue(low);
            values[slot] = low + ((high - low + 1) >> 1);
            low = high + 1;
        }
        return values;
    }
}
