namespace RtUdp.Daemon.Generators;

/// <summary>
/// Poisson arrivals: packet 0 at the start, then gaps of E_k / rate where E_k = -ln(1 - U_k) is a
/// unit-mean exponential from a seeded SplitMix64 (gap rounded to the ns and summed as integers).
/// A rate change rescales the gap of the next packet not yet enqueued (same E_k, new rate), so the
/// draws and thus the schedule stay a function of the seed and the rate changes.
/// </summary>
internal sealed class PoissonSchedule : IPacketSchedule
{
    private SplitMix64 _random;
    private double _rate;
    private long _previousNs;
    private double _unitGap;

    public PoissonSchedule(long startNs, double meanRate, ulong seed)
    {
        _random = new SplitMix64(seed);
        _rate = meanRate;
        DueNs = startNs;
    }

    public long Index { get; private set; }

    public long DueNs { get; private set; }

    public bool Exhausted => false;

    public ReadOnlyMemory<byte>? Payload => null;

    /// <summary>A gap of <paramref name="unitGap"/> mean-one units at <paramref name="rate"/> packets/s, in whole ns.</summary>
    public static long GapNs(double unitGap, double rate) => (long)Math.Round(unitGap * 1e9 / rate);

    /// <summary>Unit-mean exponential from a uniform draw in [0, 1).</summary>
    public static double UnitExponential(double uniform) => -Math.Log(1.0 - uniform);

    public void Advance()
    {
        Index++;
        _previousNs = DueNs;
        _unitGap = UnitExponential(_random.NextDouble());
        DueNs = _previousNs + GapNs(_unitGap, _rate);
    }

    public bool SetRate(ScheduleRate rate)
    {
        if (rate is not ScheduleRate.MeanRate r)
        {
            return false;
        }
        _rate = r.PerSecond;
        if (Index > 0)
        {
            DueNs = _previousNs + GapNs(_unitGap, _rate);
        }
        return true;
    }
}
