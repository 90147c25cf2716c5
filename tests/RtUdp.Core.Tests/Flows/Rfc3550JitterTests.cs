using RtUdp.Core.Flows;

namespace RtUdp.Core.Tests.Flows;

/// <summary>RFC 3550 interarrival jitter on known transit sequences.</summary>
public sealed class Rfc3550JitterTests
{
    [Fact]
    public void Constant_transit_has_zero_jitter()
    {
        long scaled = 0;
        for (int i = 0; i < 100; i++)
        {
            Rfc3550Jitter.Update(ref scaled, 0);
        }
        Assert.Equal(0, Rfc3550Jitter.ToNanoseconds(scaled));
    }

    [Fact]
    public void One_step_moves_a_sixteenth_of_the_way()
    {
        long scaled = 0;
        Rfc3550Jitter.Update(ref scaled, 1600);
        Assert.Equal(100, Rfc3550Jitter.ToNanoseconds(scaled)); // 0 + (1600 - 0) / 16
        Rfc3550Jitter.Update(ref scaled, -1600);
        Assert.Equal(193, Rfc3550Jitter.ToNanoseconds(scaled)); // 100 + (1600 - 100) / 16 = 193.75
    }

    [Fact]
    public void Alternating_transit_converges_to_the_difference()
    {
        // Transits alternating 1000 and 2000 ns: |D| is always 1000, so J tends to 1000.
        long scaled = 0;
        double reference = 0;
        long previous = 1000;
        for (int i = 1; i < 400; i++)
        {
            long transit = i % 2 == 0 ? 1000 : 2000;
            Rfc3550Jitter.Update(ref scaled, transit - previous);
            reference += (Math.Abs(transit - previous) - reference) / 16.0;
            previous = transit;
            // The integer form follows J += (|D| - J)/16 to within 2 ns (integer rounding, then the shift floors).
            Assert.InRange(Rfc3550Jitter.ToNanoseconds(scaled), reference - 2, reference + 2);
        }
        Assert.InRange(Rfc3550Jitter.ToNanoseconds(scaled), 999, 1000);
    }
}
