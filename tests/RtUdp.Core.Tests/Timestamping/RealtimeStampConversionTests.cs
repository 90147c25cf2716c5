using RtUdp.Core.Timestamping;

namespace RtUdp.Core.Tests.Timestamping;

/// <summary>
/// A software stamp taken before a wall-clock step and converted with an offset read after it: the window the
/// stamp was taken in tells which offset was in effect. (The real clock is stepped against the real daemon in
/// RtUdp.Daemon.Tests' WallClockStepTests.)
/// </summary>
public sealed class RealtimeStampConversionTests
{
    private const long Second = 1_000_000_000;
    private const long Before = 1_700_000_000 * Second; // CLOCK_REALTIME − CLOCK_MONOTONIC before the step
    private static readonly ClockOffset EmptyAt = new(Before, 100, 50 * Second);

    [Theory]
    [InlineData(2 * Second)]
    [InlineData(-2 * Second)]
    [InlineData(10 * RealtimeStampConversion.SlackNs)]
    [InlineData(-3600 * Second)]
    public void A_stamp_taken_before_a_step_keeps_its_monotonic_time(long step)
    {
        // Socket found empty at 50 s; the packet stamped at 50.004 s; the clock stepped at 50.0045 s; read at 50.005 s.
        long stampedAt = (50 * Second) + 4_000_000;
        var after = new ClockOffset(Before + step, 100, (50 * Second) + 5_000_000);
        long converted = RealtimeStampConversion.ToMonotonic(stampedAt + Before, after, EmptyAt, EmptyAt.SampledAtMonotonicNs, after.SampledAtMonotonicNs);
        Assert.Equal(stampedAt, converted);
    }

    [Theory]
    [InlineData(2 * Second)]
    [InlineData(-2 * Second)]
    public void A_stamp_taken_after_the_step_is_converted_with_the_new_offset(long step)
    {
        long stampedAt = (50 * Second) + 4_000_000;
        var after = new ClockOffset(Before + step, 100, (50 * Second) + 5_000_000);
        long converted = RealtimeStampConversion.ToMonotonic(stampedAt + Before + step, after, EmptyAt, EmptyAt.SampledAtMonotonicNs, after.SampledAtMonotonicNs);
        Assert.Equal(stampedAt, converted);
    }

    [Fact]
    public void Without_a_step_or_an_earlier_offset_the_current_offset_converts()
    {
        long stampedAt = 50 * Second;
        // The clock slewed 20 us since the socket was found empty: the current read is the better one.
        var after = new ClockOffset(Before + 20_000, 100, (50 * Second) + 5_000_000);
        Assert.Equal(stampedAt, RealtimeStampConversion.ToMonotonic(stampedAt + Before + 20_000, after, EmptyAt, EmptyAt.SampledAtMonotonicNs, after.SampledAtMonotonicNs));
        // No earlier offset known (the socket was never found empty): the current one, wherever the stamp lands.
        Assert.Equal(stampedAt - (2 * Second), RealtimeStampConversion.ToMonotonic(stampedAt + Before, new ClockOffset(Before + (2 * Second), 100, 60 * Second), default, 0, 60 * Second));
        // A stamp neither offset explains (it waited longer than the window says): the current one.
        Assert.Equal(stampedAt - (10 * Second), RealtimeStampConversion.ToMonotonic(stampedAt + Before, new ClockOffset(Before + (10 * Second), 100, 60 * Second), EmptyAt, 59 * Second, 60 * Second));
    }
}
