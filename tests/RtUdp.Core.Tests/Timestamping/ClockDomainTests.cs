using RtUdp.Core.Native;
using RtUdp.Core.Timestamping;
using Tmds.Linux;

namespace RtUdp.Core.Tests.Timestamping;

public sealed unsafe class ClockDomainTests
{
    private const long Millisecond = 1_000_000;

    [Fact]
    public void Realtime_offset_agrees_with_clock_gettime_pairs()
    {
        ClockOffset offset = ClockSampler.Sample(Libc.CLOCK_REALTIME);

        Assert.True(offset.IsValid);
        Assert.InRange(offset.UncertaintyNs, 0, Millisecond);
        for (int i = 0; i < 100; i++)
        {
            long mono = Libc.MonotonicNow();
            timespec ts;
            Errno.Check(Libc.clock_gettime(Libc.CLOCK_REALTIME, &ts), "clock_gettime");
            long realtime = Libc.ToNanoseconds(ts);
            long observed = realtime - mono;
            Assert.InRange(observed - offset.OffsetNs, -(offset.UncertaintyNs + Millisecond), offset.UncertaintyNs + Millisecond);
            Assert.InRange(offset.ToMonotonic(realtime) - mono, -(offset.UncertaintyNs + Millisecond), offset.UncertaintyNs + Millisecond);
        }
    }

    [Fact]
    public void Tai_and_monotonic_can_be_sampled()
    {
        ClockOffset tai = ClockSampler.Sample(Libc.CLOCK_TAI, rounds: 3);
        ClockOffset realtime = ClockSampler.Sample(Libc.CLOCK_REALTIME, rounds: 3);
        // TAI = realtime + the kernel's TAI offset (0 unless ptp4l/phc2sys/chrony set it; 37 s today).
        long taiMinusUtc = tai.OffsetNs - realtime.OffsetNs;
        Assert.True(Math.Abs(taiMinusUtc) < Millisecond || Math.Abs(taiMinusUtc - (37_000 * Millisecond)) < Millisecond,
            $"TAI − UTC = {taiMinusUtc} ns");

        ClockOffset self = ClockSampler.Sample(Libc.CLOCK_MONOTONIC);
        Assert.InRange(self.OffsetNs, -self.UncertaintyNs - 1, self.UncertaintyNs + 1);
    }

    [Fact]
    public void Sampling_an_invalid_clock_throws_einval()
    {
        var e = Assert.Throws<NativeCallException>(() => ClockSampler.Sample(12345));
        Assert.Equal(Errno.EINVAL, e.Errno);
        Assert.Throws<ArgumentOutOfRangeException>(() => ClockSampler.Sample(Libc.CLOCK_REALTIME, rounds: 0));
    }

    [Fact]
    public void Bracket_math_on_known_inputs()
    {
        // Other clock read somewhere in [1000, 1100]: midpoint 1050, offset 5000 − 1050.
        ClockOffset o = ClockSampler.FromBracket(1000, 5000, 1100);
        Assert.Equal(3950, o.OffsetNs);
        Assert.Equal(50, o.UncertaintyNs);
        Assert.Equal(1050, o.SampledAtMonotonicNs);
        // An odd width rounds the uncertainty up, never under-reporting it.
        Assert.Equal(51, ClockSampler.FromBracket(1000, 5000, 1101).UncertaintyNs);
        Assert.Equal(5000, o.FromMonotonic(1050));
        Assert.Equal(1050, o.ToMonotonic(5000));
        Assert.Equal(123, o.ToMonotonic(o.FromMonotonic(123)));

        Assert.Equal(2, ClockSampler.Narrowest([0, 100, 200, 300], [50, 140, 210, 340]));
        Assert.Equal(0, ClockSampler.Narrowest([0, 100], [10, 110])); // ties: earliest
        Assert.Equal(1, ClockSampler.Narrowest([0, 100], [-5, 200])); // negative widths are rejected
        Assert.Equal(-1, ClockSampler.Narrowest([], []));
    }

    [Fact]
    public void Default_offset_is_invalid()
    {
        Assert.False(default(ClockOffset).IsValid);
    }
}
