using RtUdp.Core.Contract.Clients;

namespace RtUdp.Core.Engine.Clients;

/// <summary>
/// One attachment's limits where the engine reads its ring: a rate with a burst (GCRA, the token bucket's
/// integer form) and a bound on packets accepted and not yet due (a min-heap of their due times, allocated
/// at attach). It never refuses a packet: it says when the packet may go, and the packet waits in the ring.
/// </summary>
internal sealed class ClientLimiter
{
    private readonly long _intervalNs;
    private readonly long _toleranceNs;
    private readonly long[] _dues;
    private int _count;
    private long _theoreticalArrivalNs;

    public ClientLimiter(in ClientAttachLimits limits)
    {
        // A rate above 1e9/s is no limit at nanosecond resolution.
        _intervalNs = limits.PacketsPerSecond > 0 ? 1_000_000_000 / limits.PacketsPerSecond : 0;
        _toleranceNs = (Math.Max(limits.Burst, 1) - 1) * _intervalNs;
        _dues = limits.QueuedPackets > 0 ? new long[limits.QueuedPackets] : [];
    }

    /// <summary>Packets accepted and not yet due, as of the last <see cref="TryAdmit"/>.</summary>
    public int Queued => _count;

    /// <summary>May a packet due at <paramref name="dueNs"/> be taken now? If not, when to look again.</summary>
    public bool TryAdmit(long nowNs, out long retryAtNs)
    {
        retryAtNs = 0;
        if (_dues.Length != 0)
        {
            while (_count > 0 && _dues[0] <= nowNs)
            {
                PopMin();
            }
            if (_count == _dues.Length)
            {
                retryAtNs = _dues[0];
                return false;
            }
        }
        if (_intervalNs != 0 && _theoreticalArrivalNs - _toleranceNs > nowNs)
        {
            retryAtNs = _theoreticalArrivalNs - _toleranceNs;
            return false;
        }
        return true;
    }

    /// <summary>Records a packet taken after <see cref="TryAdmit"/> said yes.</summary>
    public void Taken(long nowNs, long dueNs)
    {
        if (_intervalNs != 0)
        {
            _theoreticalArrivalNs = Math.Max(_theoreticalArrivalNs, nowNs) + _intervalNs;
        }
        if (_dues.Length != 0 && dueNs > nowNs)
        {
            Push(dueNs);
        }
    }

    private void Push(long due)
    {
        int i = _count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (_dues[parent] <= due)
            {
                break;
            }
            _dues[i] = _dues[parent];
            i = parent;
        }
        _dues[i] = due;
    }

    private void PopMin()
    {
        long last = _dues[--_count];
        int i = 0;
        while (true)
        {
            int child = (2 * i) + 1;
            if (child >= _count)
            {
                break;
            }
            if (child + 1 < _count && _dues[child + 1] < _dues[child])
            {
                child++;
            }
            if (_dues[child] >= last)
            {
                break;
            }
            _dues[i] = _dues[child];
            i = child;
        }
        if (_count > 0)
        {
            _dues[i] = last;
        }
    }
}
