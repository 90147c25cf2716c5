using Prometheus;

namespace RtUdp.Daemon.Metrics;

/// <summary>
/// The label sets a metric was given during the current scrape. Every series is set afresh at each
/// scrape from shared memory; <see cref="Sweep"/> then removes those not set (a deleted channel, a
/// detached one, an info label that changed), so nothing stale is exported.
/// </summary>
internal sealed class SeriesSet<TChild>(Collector<TChild> collector)
    where TChild : ChildBase
{
    private readonly Dictionary<string, string[]> _live = new(StringComparer.Ordinal);
    private readonly HashSet<string> _touched = new(StringComparer.Ordinal);

    public Collector<TChild> Collector { get; } = collector;

    /// <summary>Marks the series touched; true if it existed before this scrape.</summary>
    public bool Touch(string[] labels, out string key)
    {
        key = string.Join('\u001f', labels);
        _touched.Add(key);
        return !_live.TryAdd(key, labels);
    }

    public bool IsLive(string key) => _live.ContainsKey(key);

    public void Remove(string key)
    {
        if (!_live.Remove(key, out string[]? labels))
        {
            return;
        }
        // An unlabelled series stays (prometheus-net keeps it): those are set at every scrape.
        if (labels.Length > 0)
        {
            Collector.RemoveLabelled(labels);
        }
    }

    public void Sweep()
    {
        foreach (string key in _live.Keys.Where(k => !_touched.Contains(k)).ToList())
        {
            Remove(key);
        }
        _touched.Clear();
    }
}

/// <summary>A gauge set at each scrape.</summary>
internal sealed class ScrapedGauge(Gauge gauge)
{
    private readonly SeriesSet<Gauge.Child> _series = new(gauge);

    public void Set(double value, params string[] labels)
    {
        _series.Touch(labels, out _);
        if (labels.Length == 0)
        {
            gauge.Set(value);
        }
        else
        {
            gauge.WithLabels(labels).Set(value);
        }
    }

    public void Sweep() => _series.Sweep();
}

/// <summary>
/// A counter mirrored from a counter in shared memory at each scrape. New memory (another engine, a
/// recreated channel: a different source object, or a value below the exported one) recreates the series,
/// which Prometheus' rate() reads as a counter reset. Unlabelled counters cannot be reset: use them only
/// for values that never decrease.
/// </summary>
internal sealed class ScrapedCounter(Counter counter)
{
    private readonly SeriesSet<Counter.Child> _series = new(counter);
    private readonly Dictionary<string, object> _sources = new(StringComparer.Ordinal);

    public void Set(long value, params string[] labels) => Set(null, value, labels);

    /// <param name="source">What the value was read from (a channel handle, an engine client); null: always the same.</param>
    public void Set(object? source, long value, params string[] labels)
    {
        if (labels.Length == 0)
        {
            _series.Touch(labels, out _);
            counter.IncTo(value);
            return;
        }
        bool existed = _series.Touch(labels, out string key);
        bool newSource = source is not null && (!_sources.TryGetValue(key, out object? seen) || !ReferenceEquals(seen, source));
        if (existed && (newSource || value < counter.WithLabels(labels).Value))
        {
            _series.Remove(key);
            _series.Touch(labels, out _);
        }
        if (source is not null)
        {
            _sources[key] = source;
        }
        counter.WithLabels(labels).IncTo(value);
    }

    public void Sweep()
    {
        _series.Sweep();
        foreach (string key in _sources.Keys.Where(k => !_series.IsLive(k)).ToList())
        {
            _sources.Remove(key);
        }
    }
}
