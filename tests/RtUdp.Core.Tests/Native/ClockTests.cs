using RtUdp.Core.Native;
using Tmds.Linux;

namespace RtUdp.Core.Tests.Native;

public sealed unsafe class ClockTests
{
    private const long Millisecond = 1_000_000;

    [Fact]
    public void MonotonicNow_agrees_with_clock_gettime()
    {
        timespec ts;
        Assert.Equal(0, Libc.clock_gettime(Libc.CLOCK_MONOTONIC, &ts));
        long before = Libc.ToNanoseconds(ts);

        long now = Libc.MonotonicNow();

        Assert.Equal(0, Libc.clock_gettime(Libc.CLOCK_MONOTONIC, &ts));
        Assert.InRange(now, before, Libc.ToNanoseconds(ts));
    }

    [Fact]
    public void Absolute_clock_nanosleep_returns_no_earlier_than_the_target()
    {
        long target = Libc.MonotonicNow() + 2 * Millisecond;
        timespec request = Libc.ToTimespec(target);

        int result = Libc.clock_nanosleep(Libc.CLOCK_MONOTONIC, Libc.TIMER_ABSTIME, &request, null);

        Assert.Equal(0, result);
        Assert.True(Libc.MonotonicNow() >= target);
    }

    [Fact]
    public void clock_nanosleep_returns_the_error_number_rather_than_minus_one()
    {
        timespec invalid = default;
        invalid.tv_nsec = 2_000_000_000;

        Assert.Equal(Errno.EINVAL, Libc.clock_nanosleep(Libc.CLOCK_MONOTONIC, 0, &invalid, null));
    }
}
