using RtUdp.Core.Native;
using RtUdp.Core.Timestamping;

namespace RtUdp.Core.Tests.Timestamping;

public sealed class PhcClockTests
{
    // CLOCK_REALTIME − CLOCK_MONOTONIC = 1.7e18 ns, known to ±20 ns.
    private static readonly ClockOffset Realtime = new(1_700_000_000_000_000_000, 20, 1);

    [Fact]
    public void Open_on_a_missing_device_throws_enoent_naming_it()
    {
        var e = Assert.Throws<NativeCallException>(() => PhcClock.Open(97));

        Assert.Equal(Errno.ENOENT, e.Errno);
        Assert.Contains("/dev/ptp97", e.Call, StringComparison.Ordinal);
        Assert.Contains("/dev/ptp97", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_device_that_is_not_a_phc_fails_every_method_and_remembers_none()
    {
        using PhcClock clock = PhcClock.OpenPath("/dev/null", 0);
        Assert.Equal(clock.Fd, PhcClock.ClockIdToFd(clock.ClockId));

        var e = Assert.Throws<NativeCallException>(() => clock.Measure());

        Assert.Equal(25 /* ENOTTY */, e.Errno);
        Assert.Equal(PhcOffsetMethod.None, clock.Method);
        Assert.Equal(25, clock.TryMeasure(PhcOffsetMethod.Extended, out _));
        Assert.Equal(Errno.EINVAL, clock.TryMeasure(PhcOffsetMethod.None, out _));

        clock.Dispose();
        Assert.Throws<ObjectDisposedException>(() => clock.Measure());
        Assert.Equal(Errno.EBADF, clock.TryMeasure(PhcOffsetMethod.Plain, out _));
    }

    [Fact]
    public void Fd_to_clockid_follows_the_kernel_encoding()
    {
        Assert.Equal(-29, PhcClock.FdToClockId(3)); // ((~3) << 3) | 3
        Assert.Equal(3, PhcClock.ClockIdToFd(-29));
        for (int fd = 0; fd < 5000; fd += 7)
        {
            int clockid = PhcClock.FdToClockId(fd);
            Assert.True(clockid < 0);
            Assert.Equal(3, clockid & 7); // CLOCKFD
            Assert.Equal(fd, PhcClock.ClockIdToFd(clockid));
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => PhcClock.Open(-1));
    }

    [Fact]
    public void Extended_picks_the_narrowest_triple_and_converts_realtime_to_monotonic()
    {
        long rt = 1_700_000_100_000_000_000; // realtime around the samples
        long phcAhead = 37_000_000_250; // PHC = realtime + 37 s + 250 ns (a TAI PHC)
        Libc.ptp_clock_time[] ts =
        [
            T(rt), T(rt + 500 + phcAhead), T(rt + 1000),           // width 1000
            T(rt + 2000), T(rt + 2100 + phcAhead), T(rt + 2200),   // width 200: the winner, midpoint rt + 2100
            T(rt + 3000), T(rt + 3050 + phcAhead), T(rt + 3600),   // width 600
        ];

        ClockOffset o = PhcClock.FromExtended(ts, 3, Realtime);

        long mono = rt + 2100 - Realtime.OffsetNs;
        Assert.Equal(mono, o.SampledAtMonotonicNs);
        Assert.Equal(rt + 2100 + phcAhead - mono, o.OffsetNs);
        Assert.Equal(100 + 20, o.UncertaintyNs);
        // A PHC hardware stamp converts to monotonic and back.
        Assert.Equal(mono, o.ToMonotonic(rt + 2100 + phcAhead));
    }

    [Fact]
    public void Plain_uses_interleaved_readings()
    {
        long rt = 1_700_000_200_000_000_000;
        Libc.ptp_clock_time[] ts =
        [
            T(rt), T(rt + 400 + 7), T(rt + 800),   // width 800
            T(rt + 900 + 7), T(rt + 1000),         // sample 1: (800, 907, 1000) width 200
        ];

        ClockOffset o = PhcClock.FromPlain(ts, 2, Realtime);

        long mono = rt + 900 - Realtime.OffsetNs;
        Assert.Equal(mono, o.SampledAtMonotonicNs);
        Assert.Equal(rt + 907 - mono, o.OffsetNs);
        Assert.Equal(120, o.UncertaintyNs);
        Assert.Throws<ArgumentOutOfRangeException>(() => PhcClock.FromPlain(ts, 3, Realtime));
        Assert.Throws<ArgumentOutOfRangeException>(() => PhcClock.FromExtended(ts, 2, Realtime));
    }

    [Fact]
    public void Precise_has_only_the_conversion_uncertainty()
    {
        long rt = 1_700_000_300_000_000_001;
        var sample = new Libc.ptp_sys_offset_precise
        {
            device = T(rt + 37_000_000_000),
            sys_realtime = T(rt),
            sys_monoraw = T(12345),
        };

        ClockOffset o = PhcClock.FromPrecise(sample, Realtime);

        Assert.Equal(rt - Realtime.OffsetNs, o.SampledAtMonotonicNs);
        Assert.Equal(Realtime.OffsetNs + 37_000_000_000, o.OffsetNs);
        Assert.Equal(Realtime.UncertaintyNs, o.UncertaintyNs);
    }

    [Fact]
    public void Ptp_clock_time_converts_to_nanoseconds()
    {
        Assert.Equal(1_500_000_002, PhcClock.ToNanoseconds(new Libc.ptp_clock_time { sec = 1, nsec = 500_000_002 }));
        Assert.Equal(-1_000_000_000, PhcClock.ToNanoseconds(new Libc.ptp_clock_time { sec = -1 }));
    }

    private static Libc.ptp_clock_time T(long ns) =>
        new() { sec = ns / 1_000_000_000, nsec = (uint)(ns % 1_000_000_000) };
}
