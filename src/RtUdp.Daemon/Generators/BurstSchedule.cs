namespace RtUdp.Daemon.Generators;

/// <summary>
/// Packet i of burst b is due at start + b * burst_period + i * gap. After a burst period change the
/// next burst starts one new burst period after the start of the burst before it.
/// </summary>
internal sealed class BurstSchedule(long startNs, int burstSize, long gapNs, long burstPeriodNs) : IPacketSchedule
{
    private long _baseNs = startNs;
    private long _baseBurst;
    private long _burstPeriodNs = burstPeriodNs;

    public long Index { get; private set; }

    private long Burst => Index / burstSize;

    private long InBurst => Index % burstSize;

    public long DueNs => BurstStart(Burst) + (InBurst * gapNs);

    public bool Exhausted => false;

    public ReadOnlyMemory<byte>? Payload => null;

    public void Advance() => Index++;

    private long BurstStart(long burst) => _baseNs + ((burst - _baseBurst) * _burstPeriodNs);

    public bool SetRate(ScheduleRate rate)
    {
        if (rate is not ScheduleRate.BurstPeriod p)
        {
            return false;
        }
        // The burst under way keeps its start; when the next packet opens a burst, the one before it is the base.
        long baseBurst = InBurst == 0 ? Math.Max(0, Burst - 1) : Burst;
        if (Index > 0)
        {
            _baseNs = BurstStart(baseBurst);
            _baseBurst = baseBurst;
        }
        _burstPeriodNs = p.PeriodNs;
        return true;
    }
}
