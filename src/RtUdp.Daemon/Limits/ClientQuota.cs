namespace RtUdp.Daemon.Limits;

/// <summary>
/// One client's quota: a token bucket for its packet rate and a count of its packets whose due time is
/// still ahead, kept in 1 ms buckets of due time (a packet leaves the count when its millisecond has passed).
/// Thread-safe; a call reserves all of its packets or none.
/// </summary>
public sealed class ClientQuota(string client, ClientLimitsOptions limits)
{
    private const long BucketNs = 1_000_000;

    private readonly Lock _lock = new();
    private readonly SortedDictionary<long, int> _dueBuckets = [];
    private double _tokens = limits.EffectiveBurst;
    private long _refilledNs = long.MinValue;
    private int _queued;
    private long _refused;

    public string Client { get; } = client;

    /// <summary>Calls refused so far.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Reserves <paramref name="due"/> (CLOCK_MONOTONIC ns) at <paramref name="nowNs"/>; null, or which limit refused and why.</summary>
    public QuotaRefusal? TryReserve(ReadOnlySpan<long> due, long nowNs)
    {
        lock (_lock)
        {
            Refill(nowNs);
            int ahead = 0;
            foreach (long d in due)
            {
                if (d > nowNs)
                {
                    ahead++;
                }
            }
            QuotaRefusal? refusal = null;
            if (limits.PerClientPacketsPerSecond > 0 && due.Length > _tokens)
            {
                double waitSeconds = (due.Length - _tokens) / limits.PerClientPacketsPerSecond;
                refusal = due.Length > limits.EffectiveBurst
                    ? new QuotaRefusal("packets_per_second", $"{due.Length} packets in one call exceed the burst of {limits.EffectiveBurst} (Limits:PerClientBurst); send smaller batches", TimeSpan.FromSeconds(1))
                    : new QuotaRefusal("packets_per_second", $"more than {limits.PerClientPacketsPerSecond} packets per second (Limits:PerClientPacketsPerSecond); {(int)_tokens} may go now", TimeSpan.FromSeconds(waitSeconds));
            }
            else if (limits.PerClientQueuedPackets > 0 && ahead > 0 && _queued + ahead > limits.PerClientQueuedPackets)
            {
                TimeSpan retry = _dueBuckets.Count > 0 ? TimeSpan.FromTicks(Math.Max(1, ((_dueBuckets.Keys.First() + 1) * BucketNs - nowNs) / 100)) : TimeSpan.FromMilliseconds(1);
                refusal = new QuotaRefusal("queued_packets", $"{_queued} packets already wait for their time and {ahead} more would exceed {limits.PerClientQueuedPackets} (Limits:PerClientQueuedPackets)", retry);
            }
            if (refusal is not null)
            {
                _refused++;
                return refusal;
            }
            _tokens -= limits.PerClientPacketsPerSecond > 0 ? due.Length : 0;
            if (limits.PerClientQueuedPackets > 0)
            {
                foreach (long d in due)
                {
                    if (d > nowNs)
                    {
                        long key = d / BucketNs;
                        _dueBuckets[key] = _dueBuckets.GetValueOrDefault(key) + 1;
                        _queued++;
                    }
                }
            }
            return null;
        }
    }

    /// <summary>Gives back what a call reserved but did not enqueue (the ring was full part-way).</summary>
    public void Release(ReadOnlySpan<long> due, long nowNs)
    {
        lock (_lock)
        {
            if (limits.PerClientPacketsPerSecond > 0)
            {
                _tokens = Math.Min(limits.EffectiveBurst, _tokens + due.Length);
            }
            if (limits.PerClientQueuedPackets > 0)
            {
                foreach (long d in due)
                {
                    long key = d / BucketNs;
                    if (d > nowNs && _dueBuckets.TryGetValue(key, out int n))
                    {
                        _queued--;
                        if (n == 1)
                        {
                            _dueBuckets.Remove(key);
                        }
                        else
                        {
                            _dueBuckets[key] = n - 1;
                        }
                    }
                }
            }
        }
    }

    private void Refill(long nowNs)
    {
        if (limits.PerClientPacketsPerSecond > 0)
        {
            if (_refilledNs != long.MinValue && nowNs > _refilledNs)
            {
                _tokens = Math.Min(limits.EffectiveBurst, _tokens + ((nowNs - _refilledNs) / 1e9 * limits.PerClientPacketsPerSecond));
            }
            _refilledNs = Math.Max(_refilledNs, nowNs);
        }
        // Packets whose millisecond has passed have been handed to the socket (or dropped and counted): out of the count.
        long current = nowNs / BucketNs;
        while (_dueBuckets.Count > 0)
        {
            long first = _dueBuckets.Keys.First();
            if (first >= current)
            {
                break;
            }
            _queued -= _dueBuckets[first];
            _dueBuckets.Remove(first);
        }
    }
}

/// <summary>Which limit refused a call ("packets_per_second", "queued_packets"), why, and when a retry may pass.</summary>
public sealed record QuotaRefusal(string Limit, string Description, TimeSpan RetryAfter);
