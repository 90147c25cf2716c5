namespace RtUdp.Daemon.Generators;

/// <summary>t_k = start + k * period; after a period change at packet j: t_k = t_(j-1) + (k - j + 1) * new period.</summary>
internal sealed class PeriodicSchedule(long startNs, long periodNs) : IPacketSchedule
{
    private long _baseNs = startNs;
    private long _baseIndex;
    private long _periodNs = periodNs;

    public long Index { get; private set; }

    public long DueNs => _baseNs + ((Index - _baseIndex) * _periodNs);

    public bool Exhausted => false;

    public ReadOnlyMemory<byte>? Payload => null;

    public long PeriodNs => _periodNs;

    public void Advance() => Index++;

    public bool SetRate(ScheduleRate rate)
    {
        if (rate is not ScheduleRate.Period p)
        {
            return false;
        }
        if (Index > 0)
        {
            // Rebased on the last enqueued packet: the next one is one new period after it.
            _baseNs = DueNs - _periodNs;
            _baseIndex = Index - 1;
        }
        _periodNs = p.PeriodNs;
        return true;
    }
}
