using Prometheus;
using RtUdp.Core.Contract.Stats;

namespace RtUdp.Daemon.Metrics;

/// <summary>
/// A Prometheus histogram fed from an engine histogram in shared memory: at each scrape the HDR
/// buckets' growth since the previous scrape is observed (<see cref="LatencyBuckets"/>), as many
/// samples at once as the bucket grew. New memory (another engine, a recreated channel) restarts
/// the series, as a counter reset.
/// </summary>
internal sealed class ScrapedHistogram(Histogram histogram)
{
    private readonly SeriesSet<Histogram.Child> _series = new(histogram);
    private readonly Dictionary<string, (object Source, long[] Counts)> _seen = new(StringComparer.Ordinal);

    /// <param name="source">What the counts were read from (the channel's handle): another object means new memory.</param>
    public void Feed(object source, HistogramSnapshot snapshot, params string[] labels)
    {
        bool existed = _series.Touch(labels, out string key);
        ReadOnlySpan<long> counts = snapshot.Counts;
        long[] previous;
        if (!existed || !_seen.TryGetValue(key, out (object Source, long[] Counts) seen) || !ReferenceEquals(seen.Source, source) || Shrank(seen.Counts, counts))
        {
            if (existed)
            {
                _series.Remove(key);
                _series.Touch(labels, out _);
            }
            previous = new long[counts.Length];
            _seen[key] = (source, previous);
        }
        else
        {
            previous = seen.Counts;
        }

        Histogram.Child child = histogram.WithLabels(labels);
        for (int slot = 0; slot < counts.Length; slot++)
        {
            long delta = counts[slot] - previous[slot];
            if (delta > 0)
            {
                child.Observe(LatencyBuckets.SlotSeconds(slot), delta);
                previous[slot] = counts[slot];
            }
        }
    }

    private static bool Shrank(long[] before, ReadOnlySpan<long> now)
    {
        for (int i = 0; i < before.Length; i++)
        {
            if (now[i] < before[i])
            {
                return true;
            }
        }
        return false;
    }

    public void Sweep()
    {
        _series.Sweep();
        foreach (string key in _seen.Keys.Where(k => !_series.IsLive(k)).ToList())
        {
            _seen.Remove(key);
        }
    }
}
